"""Index time and random-clip decode throughput, ours vs naive PyAV baselines, in one run.

    python benchmarks/index_and_decode.py --num-videos 300

Index: `build_index` (headers only, threaded) vs a baseline that demuxes every packet of every
file (what counting frames without an index costs; torchvision's VideoClips decodes them all).
Decode: `read_frames` for a random 16-frame clip (seek to the keyframe, decode forward) vs
decoding the file from its start up to the clip with PyAV.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np

from motionlens.data.index import build_index
from motionlens.data.synth import synthesize
from motionlens.video import read_frames


def demux_all(paths: list[str]) -> int:
    packets = 0
    for p in paths:
        with av.open(p) as c:
            packets += sum(1 for pkt in c.demux(c.streams.video[0]) if pkt.size)
    return packets


def decode_from_start(path: str, indices: list[int]) -> np.ndarray:
    wanted, out = set(indices), {}
    with av.open(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in wanted:
                out[i] = frame.to_ndarray(format="rgb24")
            if i >= max(indices):
                break
    return np.stack([out[i] for i in indices])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-videos", type=int, default=200)
    parser.add_argument("--clips", type=int, default=60)
    parser.add_argument("--data", help="existing folder-layout dataset to use instead of synthesising")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.data:
            spec = f"folder:{args.data}"
        else:
            per_class = max(1, args.num_videos // 4)
            t = time.perf_counter()
            synth = synthesize(Path(tmp) / "data", num_classes=4, videos_per_class=per_class, size=(240, 320),
                               fps=25.0, duration=(4.0, 10.0), seed=0)
            spec = synth.spec
            print(f"synthesised {synth.num_videos} videos (240x320, 4-10 s) in {time.perf_counter() - t:.1f} s")

        t = time.perf_counter()
        index = build_index(spec, cache=False)
        ours = time.perf_counter() - t
        paths = [r.path for r in index.records]
        t = time.perf_counter()
        packets = demux_all(paths)
        base = time.perf_counter() - t
        t = time.perf_counter()
        build_index(spec)
        build_index(spec)  # the second run reads the cache written by the first
        cached = (time.perf_counter() - t) / 2
        n = len(paths)
        print(f"index {n} videos: ours {ours:.2f} s ({n / ours:.0f} videos/s) | demux every packet "
              f"{base:.2f} s ({packets} packets) | ratio {base / ours:.1f}x | cached run {cached:.2f} s")

        rng = np.random.default_rng(0)
        clips = []
        for _ in range(args.clips):
            r = index.records[int(rng.integers(len(index.records)))]
            start = int(rng.integers(0, max(1, r.num_frames - 16)))
            clips.append((r.path, list(range(start, min(start + 16, r.num_frames)))))
        t = time.perf_counter()
        frames_ours = sum(len(read_frames(p, idx)) for p, idx in clips)
        ours = time.perf_counter() - t
        t = time.perf_counter()
        frames_base = sum(len(decode_from_start(p, idx)) for p, idx in clips)
        base = time.perf_counter() - t
        print(f"random 16-frame clips ({len(clips)}): read_frames {frames_ours / ours:.0f} frames/s | "
              f"decode from start {frames_base / base:.0f} frames/s | ratio {base / ours:.2f}x")


if __name__ == "__main__":
    main()
