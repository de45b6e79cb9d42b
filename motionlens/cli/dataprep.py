"""CLI commands that rewrite a dataset: `motionlens trim` (Kinetics clips from full downloads) and
`motionlens data hara-json` (any dataset as Hara's annotation JSON; `ava hara-json`, its old
name, still works, hidden)."""

from __future__ import annotations

import copy

import click

from ..core.progress import console, console_out, progress_bar
from .ava import ava_group
from .data import (annotations_option, data, index_with_progress, layout_option, print_failures, print_plan_problems,
                   split_option)


@click.command("hara-json")
@click.argument("root")
@layout_option
@split_option
@annotations_option
@click.option("--out", required=True, type=click.Path(), help="annotation JSON to write")
@click.option("--test-subset", type=click.Choice(["testing", "validation"]), default="testing", show_default=True,
              help="subset for test videos (Hara's own UCF101/HMDB51 files use validation)")
@click.option("--write-n-frames", is_flag=True, help="also write an n_frames file into every frame folder")
def hara_json(root, layout, split, annotations, out, test_subset, write_n_frames):
    """Write any dataset as the annotation JSON of Hara's 3D-ResNets-PyTorch.

    Read it back with `--data hara:ROOT --annotations FILE`."""
    from ..dataprep.hara import write_hara_json
    from ..dataprep.hara import write_n_frames as write_counts

    index = index_with_progress(root, layout, split, annotations)
    if write_n_frames:
        console_out.print(f"wrote n_frames into {write_counts(index)} frame folders", markup=False)
    result = write_hara_json(index, out, subsets={"test": test_subset})
    if result["misplaced"]:
        console.print(f"{len(result['misplaced'])} videos are not at ROOT/<label>/<video_id>, where Hara's loader "
                      f"looks (e.g. {result['misplaced'][0]})", style="yellow", markup=False, soft_wrap=True)
    counts = ", ".join(f"{n} {subset}" for subset, n in sorted(result["subsets"].items()))
    click.echo(f"wrote {sum(result['subsets'].values())} videos ({counts or 'none'}) in {index.num_classes} classes "
               f"to {result['path']}" + (f"; {result['left_out']} unused left out" if result["left_out"] else ""))


@click.command("trim")
@click.option("--csv", "csvs", required=True, multiple=True, type=click.Path(),
              help="Kinetics CSV (label,youtube_id,time_start,time_end,split); repeat for several")
@click.option("--videos", required=True, type=click.Path(), help="folder of full videos <youtube_id>.{mp4,mkv,webm}")
@click.option("--out", required=True, type=click.Path(), help="output root: ROOT/<split>/<label>/<clip>.mp4")
@click.option("--reencode", is_flag=True, help="always re-encode (default: stream copy where frame-exact)")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1), help="parallel processes")
def trim(csvs, videos, out, reencode, workers):
    """Trim full-length downloads to the Kinetics clips (time_start-time_end) in the Kinetics layout.

    The CSVs are copied to ROOT so `--data kinetics:ROOT` reads the result. Clips already there
    are skipped, so an interrupted run resumes; missing source videos are listed."""
    from ..dataprep.trim import plan_trim, run_trim

    plan = plan_trim(csvs, videos, out, mode="reencode" if reencode else "auto")
    print_plan_problems(plan.rejected, plan.missing, f"source videos not found in {videos}")
    with progress_bar(len(plan.jobs), "trimming", unit="clips") as advance:
        result = run_trim(plan, workers=workers, progress=advance)
    print_failures(result.failures)
    click.echo(result.summary())


data.add_command(hara_json)
_old_name = copy.copy(hara_json)
_old_name.hidden = True
ava_group.add_command(_old_name)

COMMANDS = [trim]
