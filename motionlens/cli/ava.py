"""CLI commands for AVA: `motionlens ava build` (a training set of clips) and `motionlens ava actions`."""

from __future__ import annotations

import click

from ..core.progress import progress_bar
from .data import print_failures, print_plan_problems


@click.group("ava")
def ava_group() -> None:
    """AVA: build training sets of clips from its annotations, list its actions."""


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

    plan = plan_ava_clips(csv_path, videos, out, positive, negative, per_class=per_class, clip_seconds=clip_seconds,
                          seed=seed, positive_name=positive_name, negative_name=negative_name,
                          time_offset=time_offset)
    print_plan_problems(plan.rejected, plan.missing_videos, f"videos not found in {videos}")
    with progress_bar(len(plan.clips), "cutting clips", unit="clips") as advance:
        result = cut_ava_clips(plan, mode="reencode" if reencode else "auto", progress=advance)
    print_failures(result.failures)
    click.echo(result.summary())


@ava_group.command("actions")
@click.option("--eval60", is_flag=True, help="only the 60 actions scored in the AVA challenge")
def actions(eval60):
    """List AVA action ids and names (for --positive / --negative)."""
    from ..labels import ava_actions

    for action_id, name in ava_actions(eval60=eval60).items():
        click.echo(f"{action_id:3d}  {name}")


COMMANDS = [ava_group]
