"""CLI commands: `motionlens data check|describe|hara-json`. Reports go to stdout, progress to stderr."""

from __future__ import annotations

import sys

import click

from ..core.progress import console, console_out
from .options import engine_of, ray_flags

layout_option = click.option("--layout", default=None, help="folder | hmdb51 | ucf101 | kinetics | list | hara | auto "
                             "(default: from a LAYOUT:ROOT spec, else auto-detected)")
split_option = click.option("--split", default=1, show_default=True, type=click.IntRange(1, 3),
                            help="official split for HMDB51 / UCF101")
annotations_option = click.option("--annotations", default=None, type=click.Path(),
                                  help="folder or file with the split/annotation files, if not under ROOT")


def index_with_progress(root: str, layout: str | None, split: int, annotations: str | None, cache: bool = True):
    from ..data.index import build_index
    from ..core.progress import progress_counter

    with progress_counter("indexing", unit="videos") as report:
        return build_index(root, layout=layout, split=split, annotations=annotations, cache=cache, progress=report)


def print_plan_problems(rejected: list[str], missing: list[str], what: str, shown: int = 10) -> None:
    """Before building a set: rows skipped because a name in them would leave its folder (the first
    few, one line each), then the sources not found, e.g. `what` = "source videos not found in DIR"."""
    for line in rejected[:shown]:
        console.print(f"skipped {line}", style="yellow", markup=False, soft_wrap=True, highlight=False)
    if len(rejected) > shown:
        console.print(f"... and {len(rejected) - shown} more rows skipped", style="yellow", soft_wrap=True)
    if missing:
        names = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        console.print(f"{len(missing)} {what}: {names}", style="yellow", markup=False, soft_wrap=True)


def print_failures(failures: list[tuple[str, str]]) -> None:
    """Files that could not be written, with their reasons."""
    for file, reason in failures:
        console.print(f"failed {file}: {reason}", style="red", markup=False, soft_wrap=True)


@click.group()
def data() -> None:
    """Inspect a dataset: check it for unreadable files, describe it, write it as Hara's JSON."""


@data.command()
@click.argument("root")
@layout_option
@split_option
@annotations_option
@click.option("--deep", is_flag=True, help="also decode every frame of every video (finds truncated and damaged files)")
@click.option("--no-cache", is_flag=True, help="probe every file again instead of using the index cache")
@click.option("--workers", type=click.IntRange(1, 1024), default=1, show_default=True,
              help="with --deep: worker processes, one video each")
@ray_flags
def check(root, layout, split, annotations, deep, no_cache, workers, ray, ray_address):
    """List unreadable files (with reasons) and differences between split files and disk.

    Exits with status 1 when a problem was found."""
    from ..deploy.archive import check_files

    engine, address = engine_of(ray, ray_address)
    index = index_with_progress(root, layout, split, annotations, cache=not no_cache)
    failures = list(index.failures)
    if deep:
        paths = sorted({record.path for record in index})
        failures += check_files(paths, workers=workers, engine=engine, ray_address=address)
    console_out.print(f"{index.layout} layout: {index.summary()}", markup=False)
    for line in index.report.lines(examples=5):
        console_out.print(line, style="yellow", markup=False)
    for path, reason in failures:
        console_out.print(f"unreadable {path}: {reason}", style="red", markup=False)  # paths stay whole, copyable
    rejected = index.report.rejected
    problems = len(failures) + len(index.report.listed_missing) + len(rejected)
    console_out.print("no problems found" if not problems else f"{len(failures)} unreadable files, "
                      f"{len(index.report.listed_missing)} listed videos missing"
                      + (f", {len(rejected)} rows skipped for unsafe names" if rejected else ""), markup=False)
    if problems:
        sys.exit(1)


@data.command()
@click.argument("root")
@layout_option
@split_option
@annotations_option
@click.option("--out", default="describe", show_default=True, type=click.Path(), help="output folder")
@click.option("--thumbs-per-class", default=3, show_default=True, type=click.IntRange(0, 100))
def describe(root, layout, split, annotations, out, thumbs_per_class):
    """Write a catalogue CSV, class counts, a duration histogram and thumbnails."""
    from ..dataprep.describe import describe as run_describe

    index = index_with_progress(root, layout, split, annotations)
    summary = run_describe(index, out, thumbs_per_class=thumbs_per_class)
    for path, reason in summary.get("decode_problems", []):
        console.print(f"{path}: {reason}", style="yellow", markup=False, highlight=False, soft_wrap=True)
    console_out.print(f"{index.layout} layout: {index.summary()}", markup=False)
    console_out.print(f"wrote {out}/: " + ", ".join(str(f) for f in summary.get("files", [])[:6]), markup=False)


COMMANDS = [data]
