"""CLI command: `motionlens demo` — synthesise, train, evaluate, report, annotate, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ..progress import console, progress_counter

# Classes that only motion tells apart; see motionlens.data.synth.
DEMO_MOTIONS = ("move_left", "move_right", "rotate_cw", "rotate_ccw")

# Small clips (videos are resized to 64 px while decoding): what trains in minutes on 2 CPU cores. Flips are off because they
# would turn "move left" into "move right"; frame differences (TSN's RGB-diff) speed up learning motion.
DEMO_RECIPE = {
    "data": {"clip_len": 8, "frame_stride": 2, "resize": 64, "crop_size": 56, "hflip": False, "decoder_resize": True,
             "modality": "rgb_diff", "batch_size": 8, "num_workers": 2, "eval_clips": 3},
    "model": {"name": "cnn3d_small"},
    "optim": {"optimizer": "adamw", "lr": 0.003, "weight_decay": 0.01, "scheduler": "cosine"},
    "epochs": 16,
    "seed": 0,
}


@click.command()
@click.option("--out", default="demo_out", show_default=True, type=click.Path(), help="output folder")
@click.option("--videos-per-class", default=60, show_default=True, type=click.IntRange(4, 1000))
@click.option("--epochs", default=DEMO_RECIPE["epochs"], show_default=True, type=click.IntRange(1, 500))
@click.option("--size", default="120x160", show_default=True, help="synthetic video size HxW")
@click.option("--overwrite", is_flag=True, help="replace an earlier demo in OUT")
def demo(out, videos_per_class, epochs, size, overwrite):
    """Synthesise a motion dataset (UCF101 layout), train a small 3D CNN on it, evaluate it,
    write the HTML report and an annotated video of a longer clip."""
    from ..config import TrainConfig, resolve
    from ..data.synth import synthesize, write_long_video
    from ..engine.evaluate import evaluate_checkpoint
    from ..engine.infer import predict
    from ..engine.train import fit
    from ..errors import MotionlensError

    try:
        height, width = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected HxW such as 60x80, got '{size}'", param_hint="--size") from None
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise MotionlensError(f"{out} is not empty; pass --overwrite or choose another --out")
    start = time.perf_counter()
    console.rule("1/4 synthesise a dataset")
    with progress_counter("synthesising", unit="videos") as report:
        data = synthesize(out / "data", layout="ucf101", num_classes=len(DEMO_MOTIONS),
                          videos_per_class=videos_per_class, size=(height, width), fps=25.0, duration=(1.5, 3.0),
                          seed=0, overwrite=True, progress=report)
    console.print(f"{data.num_videos} videos in {data.root} (UCF101 layout: classInd.txt, trainlist01.txt, ...)")

    console.rule("2/4 train")
    cfg = resolve(TrainConfig, None, DEMO_RECIPE,
                  {"data": {"data": data.spec}, "epochs": epochs, "out": str(out), "name": "run"})
    run_dir = fit(cfg)

    console.rule("3/4 evaluate")
    result = evaluate_checkpoint(run_dir, None, out / "eval", split="test", num_clips=5, num_crops=1)
    chance = 1 / len(data.classes)

    console.rule("4/4 annotate a longer video")
    schedule = [(None, 1.5), ("move_left", 2.5), (None, 1.0), ("rotate_cw", 2.5), ("move_right", 2.5)]
    truth = write_long_video(out / "long_video.mp4", schedule, size=(height * 2, width * 2), fps=25.0, seed=7)
    prediction = predict(out / "long_video.mp4", run_dir, output_video=out / "long_video_annotated.mp4")
    (out / "long_video.json").write_text(json.dumps(prediction, indent=2))
    (out / "long_video_truth.json").write_text(json.dumps(truth, indent=2))

    minutes = (time.perf_counter() - start) / 60
    console.rule("done")
    console.print(f"test video top-1 {result['video_top1']:.1%} (chance {chance:.0%}), mean class accuracy "
                  f"{result['mean_class_accuracy']:.1%}, in {minutes:.1f} min")
    console.print(f"report:          {out / 'eval' / 'report.html'}")
    console.print(f"annotated video: {out / 'long_video_annotated.mp4'} (scores: {out / 'long_video.json'})")
    console.print(f"run folder:      {run_dir} (config.yaml, metrics.csv, curves.png, checkpoints/)")


COMMANDS = [demo]
