"""CLI command: `motionlens demo`: synthesise, train, evaluate, report, annotate (see `motionlens.demo`).

The stages' titles and progress go to stderr, the figures and paths to stdout."""

from __future__ import annotations

import click

from ..demo import DEMO_RECIPE
from ..core.progress import console, console_out
from .options import hw_callback


@click.command()
@click.option("--out", default="demo_out", show_default=True, type=click.Path(), help="output folder")
@click.option("--videos-per-class", default=40, show_default=True, type=click.IntRange(4, 1000))
@click.option("--epochs", default=DEMO_RECIPE["epochs"], show_default=True, type=click.IntRange(1, 500))
@click.option("--size", default="64x80", show_default=True, callback=hw_callback, help="synthetic video size HxW")
@click.option("--overwrite", is_flag=True, help="replace an earlier demo in OUT")
def demo(out, videos_per_class, epochs, size, overwrite):
    """Synthesise a motion dataset (UCF101 layout), train a small 3D CNN on it, evaluate it,
    write the HTML report and an annotated video of a longer clip."""
    from pathlib import Path

    from ..demo import run_demo

    out = Path(out)
    summary = run_demo(out, videos_per_class=videos_per_class, epochs=epochs, size=size,
                       overwrite=overwrite, on_stage=console.rule)
    data, result, agreement = summary["data"], summary["eval"], summary["agreement"]
    console.rule("done")
    say = lambda text: console_out.print(text, markup=False, highlight=False)  # noqa: E731
    say(f"{data.num_videos} videos in {data.root} (UCF101 layout: classInd.txt, trainlist01.txt, ...)")
    say(f"test video top-1 {result['video_top1']:.1%} (chance {summary['chance']:.0%}; {result['protocol']}), "
        f"mean class accuracy {result['mean_class_accuracy']:.1%}, in {summary['minutes']:.1f} min")
    shown = ", ".join(f"{r['label']} -> {r['shown']} ({r['frame_agreement']:.0%} of frames)"
                      for r in agreement["segments"])
    say(f"long video: {agreement['segments_right']}/{agreement['num_segments']} action segments shown with the "
        f"right label, {agreement['frame_agreement']:.0%} of their frames agree with the ground truth ({shown})")
    say(f"report:          {out / 'eval' / 'report.html'}")
    say(f"annotated video: {out / 'long_video_annotated.mp4'} (scores: {out / 'long_video.json'})")
    say(f"run folder:      {summary['run_dir']} (config.yaml, metrics.csv, curves.png, checkpoints/)")

COMMANDS = [demo]
