"""Archive jobs: videos/s on the local worker pool against a local Ray instance, same videos, same job.

    python benchmarks/archive.py [--videos 200] [--workers 2] [--job flow|check] [--work DIR]

Each video is one task (`deploy/jobs.py`): `flow` computes DIS flow and writes JPEG pairs (the
`motionlens flow` task), `check` decodes every frame (`motionlens data check --deep`). Ray's
start-up is timed apart; the ratio and the overhead per video compare the job itself.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from motionlens.dataprep.synth import render_clip
from motionlens.deploy.archive import _check_task
from motionlens.core.jobs import run_jobs
from motionlens.dataprep.flow import _extract_task
from motionlens.video import write_video


def make_videos(folder: Path, n: int, frames: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"v{i:04d}.mp4"
        if not path.exists():
            clip = render_clip(("move_left", "rotate_cw")[i % 2], np.random.default_rng(i), 120, 160, frames, 25.0)
            write_video(path, clip, 25.0)
        paths.append(str(path))
    return paths


def run(job: str, videos: list[str], out: Path, workers: int, engine: str) -> float:
    if job == "flow":
        shutil.rmtree(out, ignore_errors=True)
        items = [(v, (v, str(out / Path(v).stem))) for v in videos]
        fn, shared = _extract_task, {"method": "dis", "size": None, "fmt": "jpeg", "quality": 95}
    else:
        items, fn, shared = [(v, v) for v in videos], _check_task, None
    start = time.perf_counter()
    failed = sum(not o.ok for o in run_jobs(fn, items, shared, workers=workers, engine=engine))
    seconds = time.perf_counter() - start
    assert failed == 0, f"{failed} videos failed"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--frames", type=int, default=50, help="frames per video (2 s at 25 fps)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes = Ray CPUs")
    parser.add_argument("--job", choices=["flow", "check"], default="flow")
    parser.add_argument("--work", help="folder for the videos (kept between runs); default: a temporary one")
    args = parser.parse_args()
    import ray

    work = Path(args.work or tempfile.mkdtemp(prefix="archive_bench_"))
    videos = make_videos(work / "videos", args.videos, args.frames)
    local = run(args.job, videos, work / "out_local", args.workers, "local")
    start = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _system_config={"worker_niceness": 0})  # as `--ray local` starts it
    startup = time.perf_counter() - start
    run(args.job, videos[: args.workers * 2], work / "out_warm", args.workers, "ray")  # start the workers
    on_ray = run(args.job, videos, work / "out_ray", args.workers, "ray")
    ray.shutdown()
    n = len(videos)
    print(f"{args.job}, {n} videos of {args.frames} frames (160x120), {args.workers} workers/CPUs")
    print(f"videos/s  local pool {n / local:.1f} | ray local {n / on_ray:.1f} | ratio ray/local {local / on_ray:.2f}")
    print(f"ray overhead per video {1000 * (on_ray - local) / n:+.1f} ms ({100 * (on_ray / local - 1):+.1f}%); "
          f"ray start-up {startup:.1f} s, not counted")


if __name__ == "__main__":
    main()
