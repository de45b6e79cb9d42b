"""Options shared by several commands."""

from __future__ import annotations

import click


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
