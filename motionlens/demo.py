"""The demo, end to end: synthesise a motion dataset, train a small 3D CNN on it, evaluate it and
annotate a longer video (`motionlens demo` prints what `run_demo` returns)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .core.errors import MotionlensError
from .core.progress import progress_counter

# Classes that only motion tells apart; see motionlens.dataprep.synth.
DEMO_MOTIONS = ("move_left", "move_right", "rotate_cw", "rotate_ccw")

# The from-scratch recipe (config.RECIPES["scratch"]: AdamW one cycle, 16 frames spread over the
# whole video, frame differences, no flips) at the model's default size (the whole frame at 64x64)
# and a schedule of 25 epochs; the forward and backward pass is most of the time, so one loader
# worker leaves both cores' threads to it. Validation uses 1 clip per video (tsn sampling).
DEMO_RECIPE = {
    "data": {"clip_len": 16, "decoder_resize": True, "batch_size": 8, "num_workers": 1},
    "model": {"name": "cnn3d_small"},
    "epochs": 25,  # enough to tell the turning directions apart (benchmarks/RESULTS.md)
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


def run_demo(out: str | Path, videos_per_class: int = 40, epochs: int = DEMO_RECIPE["epochs"],
             size: tuple[int, int] = (64, 80), overwrite: bool = False,
             on_stage: Callable[[str], None] = lambda title: None) -> dict:
    """Run the four stages into `out` (MotionlensError when it is not empty, unless `overwrite`);
    `size` is the synthetic videos' (H, W). `on_stage` hears each stage's title as it starts.

    Returns the dataset, the run folder, the test evaluation, the long video's segment agreement,
    chance accuracy and the minutes taken; writes long_video{,_truth,_agreement}.json."""
    from .config import TrainConfig, resolve
    from .dataprep.synth import synthesize, write_long_video
    from .deploy.predict import predict
    from .training.evaluate import evaluate_checkpoint
    from .training.train import fit

    height, width = size
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise MotionlensError(f"{out} is not empty; pass --overwrite or choose another --out")
    start = time.perf_counter()
    on_stage("1/4 synthesise a dataset")
    with progress_counter("synthesising", unit="videos") as report:
        data = synthesize(out / "data", layout="ucf101", num_classes=len(DEMO_MOTIONS),
                          videos_per_class=videos_per_class, size=(height, width), fps=DEMO_FPS, duration=(2.0, 3.0),
                          seed=0, overwrite=True, progress=report, object_size=DEMO_OBJECT_SIZE)

    on_stage("2/4 train")
    cfg = resolve(TrainConfig, None, DEMO_RECIPE,
                  {"data": {"dataset": data.spec}, "epochs": epochs, "out": str(out), "name": "run"})
    run_dir = fit(cfg)

    on_stage("3/4 evaluate")
    result = evaluate_checkpoint(run_dir, None, out / "eval", split="test")

    on_stage("4/4 annotate a longer video")
    truth = write_long_video(out / "long_video.mp4", LONG_SCHEDULE, size=(height * 2, width * 2), fps=DEMO_FPS, seed=7,
                             object_size=DEMO_OBJECT_SIZE)
    prediction = predict(out / "long_video.mp4", run_dir, window_stride=4, smooth=3,
                         output_video=out / "long_video_annotated.mp4")
    agreement = segment_agreement(truth, prediction["segments"], dict(zip(data.classes, data.motions)))
    (out / "long_video.json").write_text(json.dumps(prediction, indent=2))
    (out / "long_video_truth.json").write_text(json.dumps(truth, indent=2))
    (out / "long_video_agreement.json").write_text(json.dumps(agreement, indent=2))
    return {"data": data, "run_dir": run_dir, "eval": result, "chance": 1 / len(data.classes),
            "agreement": agreement, "minutes": (time.perf_counter() - start) / 60}
