"""Peak memory of `motionlens watch --cameras` with 4 cameras against 1, over N minutes of live play.

Each camera plays the same 320x240 25 fps file in real time (a bright flash every 10 s fires an
alert; --cooldown 15s), with alert snapshots and clips on, so every per-camera buffer is in use:
the window, the pre-roll of JPEG frames, the live view's timeline. Memory per camera is bounded,
so the 4-camera figure should exceed the 1-camera one by a fixed amount per camera, not grow with
the minutes watched. Peak RSS is the highest VmRSS read from /proc every 0.5 s while it runs.

    python benchmarks/watch_memory.py              # 10 minutes each
    python benchmarks/watch_memory.py --minutes 1  # quicker
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from motionlens.video import VideoWriter  # noqa: E402
from tests.deploy.test_watch import brightness_checkpoint  # noqa: E402  (a tiny model whose scores follow brightness)

CLI = str(Path(sys.executable).parent / "motionlens")
FPS = 25


def flashing_video(path: Path, minutes: float) -> Path:
    """Noise at level 40, bright (215) for 2 s out of every 10 s; 320x240, 25 fps."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 12, (8, 240, 320, 3), dtype=np.uint8)
    writer = VideoWriter(path, FPS, gop=50)
    for i in range(int(minutes * 60 * FPS)):
        level = 215 if (i / FPS) % 10 >= 8 else 40
        writer.write(noise[i % 8] + np.uint8(level))
    writer.close()
    return path


def peak_rss(cmd: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MiB, peak RSS in the first half of the run, exit code) of `cmd`, polling
    /proc/PID/status: a second half that peaks no higher shows memory is not growing."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []  # (seconds since start, VmRSS kB)
    start = time.monotonic()
    while proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append((time.monotonic() - start, int(line.split()[1])))
        except OSError:
            pass
        time.sleep(0.5)
    if proc.returncode:
        print(proc.stderr.read()[-2000:], file=sys.stderr)
    half = samples[-1][0] / 2 if samples else 0
    first = max((kb for t, kb in samples if t <= half), default=0)
    return max((kb for _, kb in samples), default=0) / 1024, first / 1024, proc.returncode


def run(folder: Path, video: Path, ckpt: Path, cameras: int) -> dict:
    names = [f"cam{i}" for i in range(cameras)]
    config = folder / f"cameras{cameras}.yaml"
    config.write_text("cameras:\n" + "".join(f"  - name: {n}\n    source: {video}\n    alerts: [bright:0.8:0.4s]\n"
                                              for n in names))
    events = folder / f"events{cameras}.jsonl"
    cmd = [CLI, "watch", "--cameras", str(config), str(ckpt), "--device", "cpu", "--events", str(events),
           "--alert-clips", str(folder / f"alerts{cameras}"), "--cooldown", "15s", "--window-stride", "4"]
    mib, first_half, code = peak_rss(cmd)
    summaries = [e for e in map(json.loads, events.read_text().splitlines()) if e["event"] == "summary"]
    return {"mib": mib, "first_half": first_half, "code": code, "frames": sum(s["frames"] for s in summaries),
            "dropped": sum(s["dropped_frames"] for s in summaries), "alerts": sum(s["alerts"] for s in summaries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of stream each camera plays")
    parser.add_argument("--cameras", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = flashing_video(folder / "source.mp4", args.minutes)
        ckpt = brightness_checkpoint(folder / "bright.pt")
        one = run(folder, video, ckpt, 1)
        many = run(folder, video, ckpt, args.cameras)
    for label, r in ((f"{args.cameras} cameras", many), ("1 camera", one)):
        print(f"{label}: peak RSS {r['mib']:.0f} MiB (first half of the run {r['first_half']:.0f} MiB) | {r['frames']} frames scored, {r['dropped']} dropped, "
              f"{r['alerts']} alerts | exit {r['code']}")
    extra = (many["mib"] - one["mib"]) / max(args.cameras - 1, 1)
    print(f"peak RSS over {args.minutes:g} min: {args.cameras} cameras {many['mib']:.0f} MiB | 1 camera "
          f"{one['mib']:.0f} MiB | ratio {many['mib'] / one['mib']:.2f} | {extra:.1f} MiB per extra camera")


if __name__ == "__main__":
    main()
