"""Real-time factor of `motionlens predict` on a 25 fps 320x240 video, per model.

RTF = video duration / processing time (decode + transform + model), so above 1x is faster than
real time. Windows are one clip span apart (no overlap), each path scores the same video:
eager PyTorch, and the fast path predict uses by default (`models.inference.optimize_for_inference`:
channels_last_3d, traced and frozen; its one-off tracing is paid in a warm-up, outside the
timing). The baseline is decoding alone at the model's resize, the ceiling for any model. The
paths run in turn for each repeat and the best time is kept, so load from other processes hits
them alike. bf16 autocast is not tried: on this CPU it is ~400x slower.

    python benchmarks/realtime.py --models x3d_xs,cnn3d_small,r3d_18 --seconds 12
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch

from motionlens.deploy.predict import load_predictor, score_video
from motionlens.video import iter_frames


def make_video(path: Path, seconds: float) -> Path:
    """A synthetic 25 fps 320x240 H.264 video: actions and idle stretches in one scene."""
    from motionlens.dataprep.synth import CLASSES, write_long_video

    schedule, t, i = [], 0.0, 0
    while t < seconds:
        length = min(3.0, seconds - t)
        schedule.append((CLASSES[i % len(CLASSES)] if i % 2 else None, length))
        t, i = t + length, i + 1
    write_long_video(path, schedule, size=(240, 320), fps=25.0, seed=0)
    return path


def best_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="x3d_xs,cnn3d_small,r3d_18", help="comma-separated model names")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of the test video")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument("--repeats", type=int, default=2, help="runs per path; the best is reported")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--video", help="use this video instead of a synthetic one")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(args.video) if args.video else make_video(Path(tmp) / "bench.mp4", args.seconds)
        duration = sum(1 for _ in iter_frames(video)) / 25.0
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {duration:.1f} s video, "
              f"batch {args.batch_size}, load average {os.getloadavg()[0]:.2f}")
        for name in [n.strip() for n in args.models.split(",") if n.strip()]:
            paths = {"eager": load_predictor(name, device="cpu", fast=False),
                     "fast": load_predictor(name, device="cpu", fast=True)}
            pipe = paths["eager"].pipeline
            span = math.floor((pipe.clip_len - 1) * pipe.frame_stride + 1e-6) + 1
            paths["fast"].warmup(args.batch_size)
            timings: dict[str, list[float]] = {path: [] for path in paths}
            for _ in range(args.repeats):  # interleaved, so a burst of load hits both paths
                for path, predictor in paths.items():
                    scores = score_video(predictor, video, window_stride=span, batch_size=args.batch_size)
                    timings[path].append(scores.seconds)
            windows = len(scores.starts)
            decode = best_seconds(lambda: sum(1 for _ in iter_frames(video, size=pipe.resize)), args.repeats)
            rtf = {path: duration / min(t) for path, t in timings.items()}
            print(f"{name:12s} eager RTF {rtf['eager']:.2f}x | fast {rtf['fast']:.2f}x "
                  f"({rtf['fast'] / rtf['eager']:.2f}x eager) | decode only {duration / decode:.1f}x | "
                  f"{windows} windows of {pipe.clip_len}x{pipe.crop_size}px, {span} frames apart", flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
