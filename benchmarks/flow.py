"""Optical flow: speed per frame pair and the error of the 8-bit storage formats.

    python benchmarks/flow.py [--size 240x320] [--frames 40] [--methods farneback,dis,tvl1]

Speed: `extract_video` (decode + flow + quantise + write) against the bare OpenCV call on frames
already decoded, in the same run. Error: the stored flow read back against the float flow it
came from, in pixels and in quantisation levels.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from motionlens.dataprep.synth import render_clip
from motionlens.core.errors import MotionlensError
from motionlens.data.flow_storage import BOUND, dequantize, quantize, read_flow
from motionlens.dataprep.flow import extract_video, make_flow_fn
from motionlens.video import write_video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="240x320", help="HxW of the test video")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--methods", default="farneback,dis,tvl1")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (extraction runs one per worker)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    height, width = map(int, args.size.lower().split("x"))
    frames = render_clip("rotate_cw", np.random.default_rng(0), height, width, args.frames, 25.0)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    pairs = len(frames) - 1

    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "clip.mp4", frames, fps=25, crf=18)
        print(f"{width}x{height}, {pairs} frame pairs, {args.threads} OpenCV thread(s)")
        for method in args.methods.split(","):
            try:
                flow_fn = make_flow_fn(method)
            except MotionlensError as err:
                print(f"{method:10s} skipped: {err}")
                continue
            start = time.perf_counter()
            raw = np.stack([flow_fn(a, b) for a, b in zip(gray[:-1], gray[1:])])  # (N-1, H, W, 2)
            bare = (time.perf_counter() - start) / pairs * 1000
            start = time.perf_counter()
            extract_video(video, Path(tmp) / method, method=method)
            ours = (time.perf_counter() - start) / pairs * 1000
            print(f"{method:10s} ms/pair extract_video (decode+flow+jpeg) {ours:6.1f} | bare OpenCV {bare:6.1f} | "
                  f"ratio {ours / bare:.2f}   (|flow| 99th pct {np.percentile(np.abs(raw), 99):.2f} px)")

        raw = np.stack([make_flow_fn("farneback")(a, b) for a, b in zip(gray[:-1], gray[1:])])
        inside = np.clip(raw, -BOUND, BOUND)
        q = quantize(raw)
        error = np.abs(dequantize(q) - inside)
        print(f"storage error vs float farneback flow (px; levels of {2 * BOUND / 255:.3f} px):")
        print(f"  8-bit quantisation   max {error.max():.3f}  mean {error.mean():.4f}  (bound {BOUND / 255:.3f})")
        for fmt in ("jpeg", "video"):
            folder = Path(tmp) / f"store-{fmt}"
            extract_video(video, folder, method="farneback", fmt=fmt)
            stored = read_flow(folder, range(pairs))
            # The stored flow was computed from the encoded video, so compare with its own quantisation.
            again = quantize(np.stack(list(_flows(video))))
            levels = np.abs(stored.astype(int) - again.astype(int))
            pixels = np.abs(dequantize(stored) - np.clip(np.stack(list(_flows(video))), -BOUND, BOUND))
            size = sum(p.stat().st_size for p in folder.iterdir()) / pairs / 1024
            print(f"  {fmt:5s} round trip     max {levels.max()} levels, 99th pct {np.percentile(levels, 99):.0f}, "
                  f"mean {levels.mean():.3f} | total max {pixels.max():.3f} px mean {pixels.mean():.4f} px | "
                  f"{size:.1f} kB per flow frame (x + y)")


def _flows(video):
    from motionlens.dataprep.flow import video_flow

    return video_flow(video, "farneback")


if __name__ == "__main__":
    main()
