"""Dense optical flow for every video of a dataset, in parallel, resumable.

Methods (OpenCV, on grayscale frames):
  farneback  polynomial expansion (Farneback 2003), OpenCV's standard parameters; in the base build.
  tvl1       Dual TV-L1 (Zach et al. 2007), the flow of the two-stream / TSN papers; best quality,
             10-100x slower; needs OpenCV's contrib build (`pip install motionlens[tvl1]`).
  dis        Dense Inverse Search (Kroeger et al. 2016), "medium" preset; fast, in the base build.

Each video becomes a folder of quantised flow frames (see `data/flow_storage.py`). A folder gets
its `done` marker last, so an interrupted run is resumed by running the same command again:
finished videos are skipped and unfinished ones redone. A video that fails is reported with its
reason and the rest carry on.

With `workers > 1` videos are processed by forkserver (spawn off Linux) worker processes, which
import the calling script again: from a script, call `extract_dataset` under
`if __name__ == "__main__":` (the `motionlens flow` command needs nothing). With `engine="ray"`
they run on a Ray cluster instead (`core/jobs.py`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ..core.errors import MotionlensError, VideoError
from ..core.jobs import run_jobs
from ..data import flow_storage as storage
from ..data.flow_storage import BOUND, quantize
from ..video import DecodeReport, iter_frames, probe

METHODS = ("farneback", "tvl1", "dis")
FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (gray uint8 (H, W), gray) -> float32 (H, W, 2)


def make_flow_fn(method: str) -> FlowFn:
    """A function computing flow from one grayscale frame to the next: `(H, W, 2)` float32 pixels (x, y).

    Raises MotionlensError for an unknown method, or for TV-L1 without OpenCV's contrib build."""
    if method == "farneback":
        def farneback(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
            # pyr_scale, levels, winsize, iterations, poly_n, poly_sigma: OpenCV's documented defaults
            return cv2.calcOpticalFlowFarneback(prev, nxt, None, 0.5, 3, 15, 3, 5, 1.2, 0)
        return farneback
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda prev, nxt: dis.calc(np.ascontiguousarray(prev), np.ascontiguousarray(nxt), None)
    if method == "tvl1":
        optflow = getattr(cv2, "optflow", None)
        if optflow is None or not hasattr(optflow, "DualTVL1OpticalFlow_create"):
            raise MotionlensError("TV-L1 flow needs OpenCV's contrib build: pip install motionlens[tvl1] "
                                  "(or use --method farneback or dis)")
        tvl1 = optflow.DualTVL1OpticalFlow_create()
        return lambda prev, nxt: tvl1.calc(prev, nxt, None)
    raise MotionlensError(f"unknown flow method '{method}'; expected one of {', '.join(METHODS)}")


def video_flow(video: str | os.PathLike, method: str = "farneback", size: int | None = None,
               report: DecodeReport | None = None) -> Iterator[np.ndarray]:
    """Yield the float32 `(H, W, 2)` flow between consecutive frames of a video (N - 1 of them).

    `size` resizes frames to that short side first. Memory is bounded by two frames. `report` is
    filled in as `iter_frames` does (truncation, damaged frames)."""
    flow_fn = make_flow_fn(method)
    prev = None
    for frame in iter_frames(video, size=size, report=report):
        gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        if prev is not None:
            yield flow_fn(prev, gray)
        prev = gray


def extract_video(video: str | os.PathLike, out_dir: str | os.PathLike, method: str = "farneback",
                  size: int | None = None, fmt: str = "jpeg", quality: int = storage.JPEG_QUALITY) -> dict:
    """Compute, quantise and store the flow of one video in `out_dir`; return what the `done` marker holds.

    A video that ends early or has damaged frames still gets the flow of what decoded; its
    `problem` names what was wrong. Raises VideoError when it has fewer than 2 decodable frames."""
    if fmt not in storage.FORMATS:
        raise MotionlensError(f"unknown flow format '{fmt}'; expected one of {', '.join(storage.FORMATS)}")
    out_dir = Path(out_dir)
    storage.remove_partial(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fps = probe(video).fps or 25.0
    writer = storage.JpegFlowWriter(out_dir, quality) if fmt == "jpeg" else storage.VideoFlowWriter(out_dir, fps)
    start = time.perf_counter()
    shape = None
    decoded = DecodeReport()
    try:
        for flow in video_flow(video, method, size, report=decoded):
            shape = flow.shape[:2]
            writer.write(quantize(flow))  # (H, W, 2) uint8
    finally:
        written = writer.close()
    if writer.count == 0:
        raise VideoError(video, "fewer than 2 decodable frames: no flow to compute")
    info = {
        "method": method, "size": size, "num_flow_frames": writer.count, "height": int(shape[0]),
        "width": int(shape[1]), "fps": float(fps), "bound": BOUND, **written,
        "seconds": round(time.perf_counter() - start, 3),
        "problem": decoded.problem(),  # e.g. "decoded 16 of 100 frames (...)": the flow covers what decoded
    }
    storage.write_done(out_dir, info)
    return info


@dataclass
class ExtractReport:
    """What `extract_dataset` did: folders written, skipped (already done) and failed (path, reason).

    Videos that end early or have damaged frames are listed in `failed` although the flow of
    what decoded is written (and kept on the next run)."""

    out: Path
    extracted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    flow_frames: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return len(self.extracted) + len(self.skipped) + len(self.failed)


def _settings_differ(info: dict, method: str, size: int | None, fmt: str) -> str | None:
    wanted = {"method": method, "size": size, "format": fmt}
    diff = [f"{k}={info.get(k)!r}" for k, v in wanted.items() if info.get(k) != v]
    return ", ".join(diff) or None


def _extract_task(settings: dict, job: tuple[str, str]) -> dict:
    """One video's job (`core.jobs.run_jobs`): its `done` marker info; raises for a failed video."""
    video, out_dir = job
    return extract_video(video, out_dir, **settings)


def extract_dataset(index, out: str | os.PathLike, method: str = "farneback", size: int | None = None,
                    fmt: str = "jpeg", workers: int = 2, quality: int = storage.JPEG_QUALITY,
                    overwrite: bool = False, show_progress: bool = True, engine: str = "local",
                    ray_address: str | None = None) -> ExtractReport:
    """Extract flow for every video of a VideoIndex into `out`, mirroring paths under `index.root`.

    One job per video (`core.jobs.run_jobs`): local worker processes, or a Ray cluster with
    `engine="ray"`; the files written are the same either way. Folders with a `done` marker from
    the same settings are skipped; `overwrite` redoes them. The index's unreadable files are
    reported as failed, as are videos that fail to decode."""
    make_flow_fn(method)  # fail early, in one line, e.g. for TV-L1 without opencv-contrib
    if fmt not in storage.FORMATS:
        raise MotionlensError(f"unknown flow format '{fmt}'; expected one of {', '.join(storage.FORMATS)}")
    root, out = Path(index.root).resolve(), Path(out)
    if out.resolve() == root or root in out.resolve().parents:
        raise MotionlensError(f"--out {out} is inside the dataset root {root}; write flow to a folder outside it "
                              "(the next indexing would take flow folders for videos)")
    report = ExtractReport(out=out, failed=[(str(p), reason) for p, reason in index.failures])
    todo: list[tuple[str, Path]] = []
    conflicts: list[str] = []
    for video in sorted({r.path for r in index.records}):
        try:
            out_dir = storage.flow_dir_for(video, root, out)
        except VideoError as err:
            report.failed.append((video, err.reason))
            continue
        info = storage.read_done(out_dir)
        if info is not None and not overwrite:
            differ = _settings_differ(info, method, size, fmt)
            if differ:
                conflicts.append(f"{out_dir} ({differ})")
            elif info.get("problem"):
                report.failed.append((video, f"flow of what decoded only: {info['problem']}"))
            else:
                report.skipped.append(video)
            continue
        todo.append((video, out_dir))
    if conflicts:
        raise MotionlensError(f"{len(conflicts)} flow folders in {out} were extracted with other settings, e.g. "
                              f"{conflicts[0]}; use another --out, or --overwrite to redo them")

    start = time.perf_counter()
    settings = {"method": method, "size": size, "fmt": fmt, "quality": quality}
    jobs = [(video, (video, str(out_dir))) for video, out_dir in todo]
    for outcome in run_jobs(_extract_task, jobs, settings, workers=workers, engine=engine, ray_address=ray_address,
                            description=f"flow ({method})" if show_progress else None):
        if not outcome.ok:
            report.failed.append((outcome.key, outcome.reason))
            continue
        report.flow_frames += int(outcome.value["num_flow_frames"])
        if outcome.value.get("problem"):  # flow written, but the video is listed: it ends early or is damaged
            report.failed.append((outcome.key, f"flow of what decoded only: {outcome.value['problem']}"))
        else:
            report.extracted.append(outcome.key)
    report.seconds = time.perf_counter() - start
    report.failed.sort()
    return report
