"""Memory on long inputs: peak RSS of `predict --output-video` and `flow` must not grow with length.

    python benchmarks/long_video.py [--minutes 10,120] [--model cnn3d_small] [--window-stride 64]
                                    [--flow-method dis] [--flow-format jpeg|video] [--flow-size N]
                                    [--skip predict|flow] [--work DIR]

A 10-second 320x240 H.264 clip of ffmpeg's `testsrc` is stream-copied (no re-encoding) to each
length with `ffmpeg -stream_loop`. Each command runs as its own process; its peak resident memory
comes from `wait4`. The baseline, measured in the same run, is the same command on the 10-second
clip: a process whose memory is bounded shows the same peak at 10 s, 10 min and 2 h.

Needs the `ffmpeg` binary (Debian: apt-get install ffmpeg).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_source(folder: Path, seconds: float, base: Path | None = None) -> Path:
    """The 10-s testsrc clip (base is None), or `base` stream-copied to `seconds`."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("this benchmark needs the ffmpeg binary (apt-get install ffmpeg)")
    if base is None:
        out = folder / "base_10s.mp4"
        args = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "10", "-c:v", "libx264",
                "-preset", "veryfast", "-g", "50", "-pix_fmt", "yuv420p", str(out)]
    else:
        out = folder / f"long_{seconds:g}s.mp4"
        args = ["-stream_loop", "-1", "-i", str(base), "-t", f"{seconds:g}", "-c", "copy", str(out)]
    subprocess.run([ffmpeg, "-v", "error", "-y", *args], check=True)
    return out


def peak_rss(argv: list[str]) -> tuple[float, float]:
    """(peak RSS in MiB of the process and any it waited for, wall seconds) of running `argv`."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr.read().decode()[-2000:]}")
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="10,120", help="lengths to test, comma-separated")
    parser.add_argument("--model", default="cnn3d_small", help="model for predict (random weights are fine)")
    parser.add_argument("--window-stride", type=int, default=64, help="predict: source frames between window starts")
    parser.add_argument("--flow-method", default="dis", help="farneback | dis | tvl1")
    parser.add_argument("--flow-format", default="jpeg", help="flow storage: jpeg (the default) | video")
    parser.add_argument("--flow-size", type=int, help="flow: resize frames to this short side first (default: as stored)")
    parser.add_argument("--work", help="folder for the videos (default: a temporary one, removed after)")
    parser.add_argument("--skip", default="", help="commands to leave out: predict,flow")
    args = parser.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="long_video_"))
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "motionlens"]
    commands = {
        "predict": lambda video, out: cli + ["predict", args.model, str(video),
                                             "--window-stride", str(args.window_stride),
                                             "--device", "cpu", "--out", str(out / "scores"),
                                             "--output-video", str(out / "annotated.mp4")],
        "flow": lambda video, out: cli + ["flow", f"folder:{video.parent.parent}", "--method", args.flow_method,
                                          "--format", args.flow_format, "--workers", "1", "--out", str(out / "flow")]
        + (["--short-side", str(args.flow_size)] if args.flow_size else []),
    }
    skip = set(filter(None, args.skip.split(",")))
    try:
        base = make_source(work, 10)
        videos = {"10 s (baseline)": base}
        for minutes in map(float, args.minutes.split(",")):
            videos[f"{minutes:g} min"] = make_source(work, minutes * 60, base)
        print(f"320x240 testsrc H.264 at 25 fps; predict {args.model} --window-stride {args.window_stride} "
              "--output-video; "
              f"flow --method {args.flow_method} --format {args.flow_format}{f' --short-side {args.flow_size}' if args.flow_size else ''}; "
              f"{os.cpu_count()} CPUs", flush=True)
        for name, make_argv in commands.items():
            if name in skip:
                continue
            peaks = {}
            for length, video in videos.items():
                case = work / f"{name}_{video.stem}"
                shutil.rmtree(case, ignore_errors=True)
                (case / "data" / "clips").mkdir(parents=True)
                linked = case / "data" / "clips" / video.name  # the folder layout wants ROOT/<class>/<video>
                os.symlink(video, linked)
                peaks[length], seconds = peak_rss(make_argv(linked, case))
                frames = float(length.split()[0]) * (60 if "min" in length else 1) * 25
                print(f"{name:8s} {length:16s} peak RSS {peaks[length]:7.1f} MiB | {seconds:7.1f} s wall | "
                      f"{frames / seconds:6.0f} frames/s", flush=True)
                shutil.rmtree(case, ignore_errors=True)
            baseline = peaks.pop("10 s (baseline)")
            ratios = " | ".join(f"{length} {peak / baseline:.2f}x" for length, peak in peaks.items())
            print(f"{name:8s} peak RSS against the 10-s baseline: {ratios}", flush=True)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
