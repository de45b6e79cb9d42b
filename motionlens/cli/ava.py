"""CLI commands that build training sets: `motionlens ava build|actions|hara-json` and `motionlens trim`."""

from __future__ import annotations

import click

from .data import annotations_option, index_with_progress, layout_option, split_option


@click.group("ava")
def ava_group() -> None:
    """Build training sets: clips from AVA annotations, Hara's annotation JSON."""


@ava_group.command("build")
@click.option("--csv", "csv_path", required=True, type=click.Path(), help="AVA annotation CSV, e.g. ava_train_v2.2.csv")
@click.option("--videos", required=True, type=click.Path(),
              help="folder of source videos <video_id>.{mp4,mkv,webm,avi}")
@click.option("--positive", required=True, help='positive actions: ids or exact names, comma-separated '
              '(64 or "fight/hit (a person)")')
@click.option("--negative", required=True, help="negative actions, e.g. 8,28,29 (sampled evenly across them)")
@click.option("--per-class", default=150, show_default=True, type=click.IntRange(1), help="clips per class")
@click.option("--clip-seconds", default=4.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="clip length, centred on the annotated timestamp")
@click.option("--out", required=True, type=click.Path(), help="output root: ROOT/<class>/<video_id>_<timestamp>.mp4")
@click.option("--seed", default=0, show_default=True, help="sampling seed")
@click.option("--positive-name", default="fight", show_default=True, help="positive class folder name")
@click.option("--negative-name", default="no_fight", show_default=True, help="negative class folder name")
@click.option("--time-offset", default=0.0, show_default=True, help="seconds to subtract from AVA timestamps: 0 for "
              "full movies, 900 for files cut to start at AVA's 15-minute mark")
@click.option("--reencode", is_flag=True, help="always re-encode (default: stream copy where frame-exact)")
def build(csv_path, videos, positive, negative, per_class, clip_seconds, out, seed, positive_name, negative_name,
          time_offset, reencode):
    """Cut balanced positive / negative clips around AVA keyframes into a folder-per-class dataset.

    A timestamp carrying a positive action goes to the positive class only. Missing videos are
    listed, not fatal; re-running resumes. Writes ROOT/clips.csv and ROOT/summary.json."""
    from ..dataprep.ava import cut_ava_clips, plan_ava_clips
    from ..core.progress import console, progress_bar

    plan = plan_ava_clips(csv_path, videos, out, positive, negative, per_class=per_class, clip_seconds=clip_seconds,
                          seed=seed, positive_name=positive_name, negative_name=negative_name,
                          time_offset=time_offset)
    _print_rejected(plan.rejected)
    if plan.missing_videos:
        shown = ", ".join(plan.missing_videos[:5]) + (", ..." if len(plan.missing_videos) > 5 else "")
        console.print(f"[yellow]{len(plan.missing_videos)} videos not found in {videos}: {shown}", soft_wrap=True)
    with progress_bar(len(plan.clips), "cutting clips", unit="clips") as advance:
        result = cut_ava_clips(plan, mode="reencode" if reencode else "auto", progress=advance)
    for file, reason in result.failures:
        console.print(f"[red]failed[/red] {file}: {reason}", soft_wrap=True)
    click.echo(result.summary())


def _print_rejected(rejected: list[str], shown: int = 10) -> None:
    """Rows skipped because a name in them would leave its folder: one line each (the first few)."""
    from rich.markup import escape

    from ..core.progress import console

    for line in rejected[:shown]:
        console.print(f"[yellow]skipped[/yellow] {escape(line)}", soft_wrap=True, highlight=False)
    if len(rejected) > shown:
        console.print(f"[yellow]... and {len(rejected) - shown} more rows skipped", soft_wrap=True)


@ava_group.command("actions")
@click.option("--eval60", is_flag=True, help="only the 60 actions scored in the AVA challenge")
def actions(eval60):
    """List AVA action ids and names (for --positive / --negative)."""
    from ..labels import ava_actions

    for action_id, name in ava_actions(eval60=eval60).items():
        click.echo(f"{action_id:3d}  {name}")


@ava_group.command("hara-json")
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
    from ..core.progress import console

    index = index_with_progress(root, layout, split, annotations)
    if write_n_frames:
        console.print(f"wrote n_frames into {write_counts(index)} frame folders")
    result = write_hara_json(index, out, subsets={"test": test_subset})
    if result["misplaced"]:
        console.print(f"[yellow]{len(result['misplaced'])} videos are not at ROOT/<label>/<video_id>, where Hara's "
                      f"loader looks (e.g. {result['misplaced'][0]})", soft_wrap=True)
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
    from ..core.progress import console, progress_bar

    plan = plan_trim(csvs, videos, out, mode="reencode" if reencode else "auto")
    _print_rejected(plan.rejected)
    if plan.missing:
        shown = ", ".join(plan.missing[:5]) + (", ..." if len(plan.missing) > 5 else "")
        console.print(f"[yellow]{len(plan.missing)} source videos not found in {videos}: {shown}", soft_wrap=True)
    with progress_bar(len(plan.jobs), "trimming", unit="clips") as advance:
        result = run_trim(plan, workers=workers, progress=advance)
    for file, reason in result.failures:
        console.print(f"[red]failed[/red] {file}: {reason}", soft_wrap=True)
    click.echo(result.summary())


COMMANDS = [ava_group, trim]
