"""Trim full-length downloaded videos to the Kinetics clips their CSV names.

Kinetics CSVs (`label,youtube_id,time_start,time_end,split`, header included; read by
`data.kinetics`) give each clip as a window of a YouTube video. Sources are looked up as
`<videos>/<youtube_id>.{mp4,mkv,webm,avi}` (`video.find_video`) and cut (see `video.cut.cut_clip`)
to `ROOT/<split>/<label>/<youtube_id>_<start:06d>_<end:06d>.mp4`, the names the Kinetics layout
expects; the CSVs are copied to ROOT, so `build_index("kinetics:ROOT")` reads the result. Outputs
already on disk are kept, so an interrupted run resumes. Clips are cut by `core.jobs.run_jobs`
worker processes; a clip that fails is listed with its reason and the others carry on.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..data.kinetics import kinetics_name, read_kinetics_csv
from ..core.errors import MotionlensError, VideoError
from ..core.jobs import run_jobs
from ..core.paths import UnsafePathError, join_inside, safe_name
from ..video import find_video, probe
from ..video.cut import cut_clip


@dataclass(frozen=True)
class TrimJob:
    source: str
    dst: str
    start: float  # seconds, as the CSV gives them
    end: float
    mode: str = "auto"


@dataclass
class TrimPlan:
    out: Path
    csvs: list[Path]
    jobs: list[TrimJob] = field(default_factory=list)  # clips still to cut
    existing: int = 0  # clips already on disk
    missing: list[str] = field(default_factory=list)  # youtube ids with no local video
    missing_clips: int = 0  # clips of those videos
    rejected: list[str] = field(default_factory=list)  # "csv:line: reason": ids or labels that are not plain names


def plan_trim(csvs: str | os.PathLike | Sequence[str | os.PathLike], videos: str | os.PathLike,
              out: str | os.PathLike, mode: str = "auto") -> TrimPlan:
    """Read the Kinetics CSVs and list the clips to cut; nothing is written."""
    csvs = [Path(c) for c in ([csvs] if isinstance(csvs, (str, os.PathLike)) else csvs)]
    if not Path(videos).is_dir():
        raise MotionlensError(f"videos folder not found: {videos}")
    plan = TrimPlan(out=Path(out), csvs=csvs)
    seen, missing = set(), Counter()
    for csv_path in csvs:
        for row in read_kinetics_csv(csv_path):
            if not row.youtube_id or not 0 <= row.start < row.end:
                raise MotionlensError(f"{row.where}: needs a youtube_id and 0 <= time_start < time_end")
            label = row.label.replace("/", "_").replace("\\", "_")
            try:  # ids and labels come from a downloaded CSV: they must not lead out of `out` or `videos`
                name = safe_name(f"{kinetics_name(row.youtube_id, row.start, row.end)}.mp4", "clip name")
                parts = [row.split] + ([safe_name(label, "label")] if label else [])
                dst = join_inside(plan.out, *parts, name)
            except UnsafePathError as err:
                plan.rejected.append(f"{row.where}: {err}")
                continue
            if dst in seen:
                continue
            seen.add(dst)
            if dst.exists():
                plan.existing += 1
                continue
            source = find_video(videos, row.youtube_id)
            if source is None:
                missing[row.youtube_id] += 1
                continue
            plan.jobs.append(TrimJob(str(source), str(dst), row.start, row.end, mode))
    plan.missing = sorted(missing)
    plan.missing_clips = sum(missing.values())
    return plan


@dataclass
class TrimResult:
    plan: TrimPlan
    cut: Counter = field(default_factory=Counter)  # mode -> clips cut this run
    shortened: list[str] = field(default_factory=list)  # clips the source ended before time_end
    failures: list[tuple[str, str]] = field(default_factory=list)  # (clip file, reason)

    def summary(self) -> str:
        plan = self.plan
        done = self.cut["copy"] + self.cut["reencode"]
        text = (f"{done + plan.existing} clips in {plan.out} ({self.cut['copy']} copied, {self.cut['reencode']} "
                f"re-encoded, {plan.existing} already there)")
        for count, what in ((len(plan.rejected), "CSV rows skipped (id or label not a plain name)"),
                            (len(plan.missing), f"source videos missing ({plan.missing_clips} clips)"),
                            (len(self.shortened), "clips shortened (source ends before time_end)"),
                            (len(self.failures), "clips failed")):
            if count:
                text += f"; {count} {what}"
        return text


def _trim_task(_shared, job: TrimJob) -> dict:
    """One clip's job (`core.jobs.run_jobs`): what `cut_clip` returned; raises VideoError for a failed clip."""
    duration = probe(job.source).duration
    if job.start >= duration:
        raise VideoError(job.source, f"starts at {job.start:g} s, after the source ends ({duration:.2f} s)")
    result = cut_clip(job.source, job.dst, job.start, min(job.end, duration), mode=job.mode)
    result["shortened"] = job.end > duration + 1e-6
    return result


def run_trim(plan: TrimPlan, workers: int = 1, progress: Callable[[], None] | None = None) -> TrimResult:
    """Cut the plan's clips (`workers` processes), copy the CSVs to the output root."""
    result = TrimResult(plan)
    plan.out.mkdir(parents=True, exist_ok=True)
    for csv_path in plan.csvs:
        target = plan.out / csv_path.name
        if target.resolve() != csv_path.resolve():
            shutil.copyfile(csv_path, target)
    jobs = [(os.path.relpath(job.dst, plan.out), job) for job in plan.jobs]
    for outcome in run_jobs(_trim_task, jobs, workers=workers, unit="clips"):
        if not outcome.ok:
            result.failures.append((outcome.key, outcome.reason))
        else:
            result.cut[outcome.value["mode"]] += 1
            if outcome.value["shortened"]:
                result.shortened.append(outcome.key)
        if progress:
            progress()
    result.failures.sort()  # workers finish in any order; reports list clips by name
    result.shortened.sort()
    return result


def trim_kinetics(csvs, videos, out, mode: str = "auto", workers: int = 1,
                  progress: Callable[[], None] | None = None) -> TrimResult:
    """`plan_trim` then `run_trim`; see those."""
    return run_trim(plan_trim(csvs, videos, out, mode=mode), workers=workers, progress=progress)
