"""Training-loader throughput: VideoClipDataset in a DataLoader with 2 workers vs decoding the
same clips sequentially with plain PyAV in one process, in one run.

    python benchmarks/loader.py --num-videos 48 --clips 96
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from motionlens.config import DataConfig
from motionlens.data.index import build_index
from motionlens.data.loader import make_loader
from motionlens.data.pipeline import make_dataset
from motionlens.data.spec import InputSpec
from motionlens.dataprep.synth import synthesize


def pyav_clip(path: str, start: int, clip_len: int) -> np.ndarray:
    """The naive way: decode from the start of the file up to the clip, keep the clip's frames."""
    frames = []
    with av.open(path) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == clip_len:
                break
    return np.stack(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-videos", type=int, default=48)
    parser.add_argument("--clips", type=int, default=96, help="clips to load with each method")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        synth = synthesize(Path(tmp) / "data", num_classes=4, videos_per_class=max(1, args.num_videos // 4),
                           size=(240, 320), fps=25.0, duration=(3.0, 8.0), seed=0)
        index = build_index(synth.spec)
        data = DataConfig(batch_size=8, num_workers=args.workers, train_sampler="random")
        pipe = InputSpec(clip_len=16, frame_stride=1, target_fps=None, resize=(128, 171), crop_size=112,
                        mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989))
        dataset = make_dataset(index, pipe, train=True, data=data)
        clips, epoch = 0, 0
        start = time.perf_counter()
        loader = make_loader(dataset, data.batch_size, True, args.workers, 0)
        while clips < args.clips:
            loader.sampler.set_epoch(epoch)
            for batch in loader:
                clips += batch["video"].shape[0]
                if clips >= args.clips:
                    break
            epoch += 1
        ours = clips / (time.perf_counter() - start)

        rng = np.random.default_rng(0)
        start = time.perf_counter()
        for i in range(args.clips):
            record = index.records[i % len(index.records)]
            first = int(rng.integers(0, max(1, record.num_frames - 16)))
            frames = pyav_clip(record.path, first, 16)
            torch.from_numpy(frames).permute(3, 0, 1, 2).float().div(255)  # the least any loader must do
        base = args.clips / (time.perf_counter() - start)
        print(f"training clips/s (16x112x112 from 240x320 videos): DataLoader {args.workers} workers {ours:.1f} | "
              f"sequential PyAV from file start {base:.1f} | ratio {ours / base:.2f}x")


if __name__ == "__main__":
    main()
