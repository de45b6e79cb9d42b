"""Options and value parsers shared by several commands."""

from __future__ import annotations

import re

import click

_HW = re.compile(r"\s*(\d+)[xX](\d+)\s*")
_SECONDS_RANGE = re.compile(r"\s*(\d+(?:\.\d*)?)\s*(?:-\s*(\d+(?:\.\d*)?))?\s*")
MIN_SIDE = 16  # pixels: smaller frames leave nothing for a model's strides and pools


def parse_hw(text: str) -> tuple[int, int]:
    """"240x320" -> (240, 320), height then width; click.BadParameter unless both sides >= MIN_SIDE."""
    match = _HW.fullmatch(text)
    if not match or min(int(match.group(1)), int(match.group(2))) < MIN_SIDE:
        raise click.BadParameter(f"'{text}' is not HxW (e.g. 240x320, sides >= {MIN_SIDE})")
    return int(match.group(1)), int(match.group(2))


def hw_callback(ctx, param, value: str | None) -> tuple[int, int] | None:
    """click callback: one HxW size."""
    return None if value is None else parse_hw(value)


def hw_list_callback(ctx, param, value: str) -> list[tuple[int, int]]:
    """click callback: "240x320" or "120x160,240x320" -> [(H, W), ...]."""
    try:
        return [parse_hw(part) for part in value.split(",")]
    except click.BadParameter:
        raise click.BadParameter(f"'{value}' is not HxW (e.g. 240x320, sides >= {MIN_SIDE}) or a comma list "
                                 "of them") from None


def seconds_range_callback(ctx, param, value: str) -> tuple[float, float]:
    """click callback: "1-10" (seconds, MIN-MAX) or "2" (MIN = MAX) -> (MIN, MAX)."""
    match = _SECONDS_RANGE.fullmatch(value)
    if not match:
        raise click.BadParameter(f"'{value}' is not seconds MIN-MAX (e.g. 1-10) or one number")
    lo = float(match.group(1))
    hi = float(match.group(2)) if match.group(2) else lo
    if not 0 < lo <= hi:
        raise click.BadParameter(f"need 0 < MIN <= MAX, got '{value}'")
    return lo, hi


def ray_flags(fn):
    """--ray [local] and --ray-address, for commands that run one job per video (`deploy/jobs.py`)."""
    options = [
        click.option("--ray", "ray", is_flag=False, flag_value="cluster", default=None, metavar="[local]",
                     help="one task per video on Ray (pip install 'motionlens[ray]'): alone, the cluster at "
                          "RAY_ADDRESS or --ray-address; `--ray local` starts one here with --workers CPUs"),
        click.option("--ray-address", help="address of a running Ray cluster, e.g. ray://head:10001"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def engine_of(ray: str | None, ray_address: str | None) -> tuple[str, str | None]:
    """(engine, address) for `run_jobs` from the --ray / --ray-address flags."""
    if ray is None:
        if ray_address:
            raise click.UsageError("--ray-address needs --ray")
        return "local", None
    if ray not in ("cluster", "local"):
        raise click.UsageError(f"--ray takes no value or `local`, not {ray!r}: put --ray after the videos, and a "
                               "cluster's address in --ray-address")
    return "ray", "local" if ray == "local" else ray_address


def backend_options(fn):
    """--backend and --precision: the runtime a model runs on (`deploy.backends`)."""
    options = [
        click.option("--backend", type=click.Choice(["auto", "torch", "openvino"]), default="auto", show_default=True,
                     help="runtime; auto: an export folder's, else PyTorch"),
        click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "int8"]), default="auto",
                     show_default=True, help="auto: an export folder's (its accuracy guard passed), else fp32; "
                     "bf16 only on CPUs with native bf16; int8 from `motionlens export --precision int8`"),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn
