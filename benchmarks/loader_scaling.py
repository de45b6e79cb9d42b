"""Training-loader throughput against the number of workers, and what that means for a 16-core machine.

    python benchmarks/loader_scaling.py [--workers 1 2 4 8 16] [--videos 48] [--clips 192]

The loader is motionlens's training loader (`make_dataset` + `make_loader` from `motionlens.data`):
16x112x112 clips (resize 128x171, random crop, flip, normalise), batch 8, random clip per video
per epoch, on 320x240 30 fps 4 s XviD AVIs like HMDB51's (half with packed B-frames) that it
makes with ffmpeg. Each worker count runs in a fresh process pinned with `taskset` to as many
cores as it has workers, or to every core when there are fewer (then the workers share them).
Before timing, one epoch warms the workers up (their start, frame tables), as every epoch after
the first of a real run is. CPU is the process's and its workers' together, per clip.

Per-core rate = 1 / (CPU s per clip) at as many workers as cores: what one core sustains when it
only feeds the loader. On a shared machine the wall-clock figures say more about the other
processes than about the loader, so the many-core figure comes from CPU time: (16 - 1) cores x
the per-core rate (one core left to the training process), assuming the workers scale linearly,
as processes that share nothing but the page cache do until the disk or memory bandwidth runs
out (5 MB/s of 320x240 XviD per 100 clips/s: far from either).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index_and_decode import cpu_s, make_xvid

# r2plus1d_18 training step, AMP, 16x112x112, one H100-class GPU: an assumption (no GPU here).
# 40.5 GFLOPs a clip forward (torchvision's table), about 3x that to train, at ~100 TFLOP/s that
# cuDNN's 3D convolutions reach under AMP: ~800 clips/s.
GPU_CLIPS_PER_S = 800.0
TARGET_CORES = 16


def run_one(root: str, workers: int, clips: int) -> dict:
    """Time the training loader over whole epochs until `clips` clips, after one warm-up epoch."""
    import motionlens.data
    from motionlens.config import DataConfig
    from motionlens.data import build_index, make_dataset, make_loader

    spec_class = getattr(motionlens.data, "InputSpec", None) or motionlens.data.Pipeline  # Pipeline: older versions
    index = build_index(f"folder:{root}")  # from the probe cache the parent filled
    data = DataConfig(batch_size=8, num_workers=workers, train_sampler="random")
    pipe = spec_class(clip_len=16, frame_stride=1, target_fps=None, resize=(128, 171), crop_size=112,
                      mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989))
    dataset = make_dataset(index, pipe, train=True, data=data)
    loader = make_loader(dataset, data.batch_size, True, workers, 0)
    loader.sampler.set_epoch(0)
    for _ in loader:  # warm-up: workers start, each builds the frame tables it needs
        pass
    done, epoch = 0, 1
    wall, cpu = time.perf_counter(), cpu_s()
    while done < clips:
        loader.sampler.set_epoch(epoch)
        for batch in loader:
            done += batch["video"].shape[0]
        epoch += 1
    wall, cpu = time.perf_counter() - wall, cpu_s() - cpu
    return {"workers": workers, "clips": done, "wall": wall, "cpu": cpu}


def pinned(workers: int) -> list[str]:
    """`taskset` to the first `workers` cores (all of them when there are fewer), or nothing."""
    cores = sorted(os.sched_getaffinity(0))
    if not shutil.which("taskset"):
        return []
    use = cores[:min(workers, len(cores))]
    return ["taskset", "-c", ",".join(map(str, use))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--videos", type=int, default=48)
    parser.add_argument("--clips", type=int, default=192, help="clips timed per worker count")
    parser.add_argument("--run-one", nargs=2, metavar=("ROOT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(args.run_one[0], int(args.run_one[1]), args.clips)))
        return
    cores = len(os.sched_getaffinity(0))
    print(f"{cores} cores, load average {os.getloadavg()[0]:.2f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MOTIONLENS_CACHE"] = str(Path(tmp) / "cache")
        root = Path(tmp) / "avis"
        make_xvid(root, args.videos)
        from motionlens.data import build_index
        from motionlens.video import count_frames

        for record in build_index(f"folder:{root}").records:  # probe cache and on-disk frame tables, once
            count_frames(record.path)
        rows = []
        for workers in args.workers:
            command = [*pinned(workers), sys.executable, __file__, "--run-one", str(root), str(workers),
                       "--clips", str(args.clips)]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rows[-1]["cores"] = min(workers, cores)
    print(f"{'workers':>7} {'cores':>5} {'clips/s':>8} {'CPU ms/clip':>11} {'clips/s per core':>16}")
    for row in rows:
        rate, per_clip = row["clips"] / row["wall"], 1000 * row["cpu"] / row["clips"]
        print(f"{row['workers']:>7} {row['cores']:>5} {rate:>8.1f} {per_clip:>11.1f} {rate / row['cores']:>16.1f}")
    fitting = [r for r in rows if r["workers"] <= cores]
    at_cores = max(fitting, key=lambda r: r["workers"]) if fitting else min(rows, key=lambda r: r["workers"])
    per_clip = 1000 * at_cores["cpu"] / at_cores["clips"]
    per_core = 1000 / per_clip
    many = (TARGET_CORES - 1) * per_core
    print(f"per core: {per_core:.1f} clips/s ({per_clip:.1f} ms CPU/clip at {at_cores['workers']} workers on "
          f"{at_cores['cores']} cores)")
    verdict = "enough" if many >= GPU_CLIPS_PER_S else f"the GPU would wait ({100 * many / GPU_CLIPS_PER_S:.0f}% busy)"
    print(f"{TARGET_CORES} cores ({TARGET_CORES - 1} feeding the loader, linear): about {many:.0f} clips/s, against an "
          f"assumed {GPU_CLIPS_PER_S:.0f} clips/s r2plus1d_18 AMP training step on an H100-class GPU: {verdict}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
