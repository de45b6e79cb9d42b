"""CLI command: `motionlens demo` — synthesise, train, evaluate, report, annotate, end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from ..progress import console, progress_counter

# Classes that only motion tells apart; see motionlens.dataprep.synth.
DEMO_MOTIONS = ("move_left", "move_right", "rotate_cw", "rotate_ccw")

# The from-scratch recipe (config.RECIPES["scratch"]: AdamW one cycle, 16 frames spread over the
# whole video, frame differences, no flips) at the model's default sizes (64 px, 56 px crops) and a
# schedule of 35 epochs; the forward and backward pass is most of the time, so one loader worker
# leaves both cores' threads to it. Validation uses 1 clip per video (tsn sampling).
DEMO_RECIPE = {
    "data": {"clip_len": 16, "resize": 64, "crop_size": 56, "decoder_resize": True, "batch_size": 8,
             "num_workers": 1},
    "model": {"name": "cnn3d_small"},
    "epochs": 35,  # turning direction needs them: 12 epochs gave 79%, 25 gave 90%, 35 gave 96% (README)
    "seed": 0,
}
# The videos are written at the size the model reads (64 px short side) and 12.5 fps, so decoding
# is cheap and nothing is lost to resizing; at that size the object is drawn larger than synth's
# default (radius 18-26% of the short side), so its marker spans a few pixels.
DEMO_FPS = 12.5
DEMO_OBJECT_SIZE = (0.18, 0.26)
# A longer video: one continuous scene whose object does each action in turn, after a still start.
LONG_SCHEDULE = [(None, 1.0), ("move_left", 4.0), ("rotate_cw", 4.0), ("move_right", 4.0), ("rotate_ccw", 4.0)]


def segment_agreement(truth: list[dict], segments: list[dict], motion_of: dict[str, str]) -> dict:
    """How well predicted segments match the ground truth of a long video.

    truth: `write_long_video`'s segments (label None = no action, not scored); segments: the
    prediction's `[start_frame, end_frame)` segments with a class label; motion_of maps class
    names to truth labels. Returns per truth segment the label shown on most of its frames and
    the share of its frames showing the right label, plus the totals over labelled segments."""
    frames = max(s["end_frame"] for s in segments)
    shown = np.empty(frames, dtype=object)
    for seg in segments:
        shown[seg["start_frame"]:seg["end_frame"]] = motion_of.get(seg["label"], seg["label"])
    rows, right_frames, total_frames = [], 0, 0
    for t in truth:
        if t["label"] is None:
            continue
        labels = list(shown[t["start_frame"]:min(t["end_frame"], frames)])
        majority = max(set(labels), key=labels.count) if labels else None
        hits = sum(label == t["label"] for label in labels)
        rows.append({"label": t["label"], "shown": majority, "frame_agreement": hits / max(len(labels), 1)})
        right_frames, total_frames = right_frames + hits, total_frames + len(labels)
    return {"segments": rows, "segments_right": sum(r["shown"] == r["label"] for r in rows),
            "num_segments": len(rows), "frame_agreement": right_frames / max(total_frames, 1)}


@click.command()
@click.option("--out", default="demo_out", show_default=True, type=click.Path(), help="output folder")
@click.option("--videos-per-class", default=40, show_default=True, type=click.IntRange(4, 1000))
@click.option("--epochs", default=DEMO_RECIPE["epochs"], show_default=True, type=click.IntRange(1, 500))
@click.option("--size", default="64x80", show_default=True, help="synthetic video size HxW")
@click.option("--overwrite", is_flag=True, help="replace an earlier demo in OUT")
def demo(out, videos_per_class, epochs, size, overwrite):
    """Synthesise a motion dataset (UCF101 layout), train a small 3D CNN on it, evaluate it,
    write the HTML report and an annotated video of a longer clip."""
    from ..config import TrainConfig, resolve
    from ..dataprep.synth import synthesize, write_long_video
    from ..deploy.predict import predict
    from ..errors import MotionlensError
    from ..training.evaluate import evaluate_checkpoint
    from ..training.train import fit

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
                          videos_per_class=videos_per_class, size=(height, width), fps=DEMO_FPS, duration=(2.0, 3.0),
                          seed=0, overwrite=True, progress=report, object_size=DEMO_OBJECT_SIZE)
    console.print(f"{data.num_videos} videos in {data.root} (UCF101 layout: classInd.txt, trainlist01.txt, ...)")

    console.rule("2/4 train")
    cfg = resolve(TrainConfig, None, DEMO_RECIPE,
                  {"data": {"data": data.spec}, "epochs": epochs, "out": str(out), "name": "run"})
    run_dir = fit(cfg)

    console.rule("3/4 evaluate")
    result = evaluate_checkpoint(run_dir, None, out / "eval", split="test")
    chance = 1 / len(data.classes)

    console.rule("4/4 annotate a longer video")
    truth = write_long_video(out / "long_video.mp4", LONG_SCHEDULE, size=(height * 2, width * 2), fps=DEMO_FPS, seed=7,
                             object_size=DEMO_OBJECT_SIZE)
    prediction = predict(out / "long_video.mp4", run_dir, window_stride=4, smooth=3,
                         output_video=out / "long_video_annotated.mp4")
    agreement = segment_agreement(truth, prediction["segments"], dict(zip(data.classes, data.motions)))
    (out / "long_video.json").write_text(json.dumps(prediction, indent=2))
    (out / "long_video_truth.json").write_text(json.dumps(truth, indent=2))
    (out / "long_video_agreement.json").write_text(json.dumps(agreement, indent=2))

    minutes = (time.perf_counter() - start) / 60
    console.rule("done")
    console.print(f"test video top-1 {result['video_top1']:.1%} (chance {chance:.0%}; {result['protocol']}), "
                  f"mean class accuracy {result['mean_class_accuracy']:.1%}, in {minutes:.1f} min", markup=False)
    shown = ", ".join(f"{r['label']} -> {r['shown']} ({r['frame_agreement']:.0%} of frames)"
                      for r in agreement["segments"])
    console.print(f"long video: {agreement['segments_right']}/{agreement['num_segments']} action segments shown "
                  f"with the right label, {agreement['frame_agreement']:.0%} of their frames agree with the ground "
                  f"truth ({shown})", markup=False)
    console.print(f"report:          {out / 'eval' / 'report.html'}")
    console.print(f"annotated video: {out / 'long_video_annotated.mp4'} (scores: {out / 'long_video.json'})")
    console.print(f"run folder:      {run_dir} (config.yaml, metrics.csv, curves.png, checkpoints/)")

COMMANDS = [demo]
