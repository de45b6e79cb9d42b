"""Build a clip-classification dataset (e.g. fight / no fight) from AVA action annotations.

AVA CSVs (`ava_train_v2.2.csv`, no header) hold one row per person box per keyframe:
`video_id, middle_frame_timestamp, x1, y1, x2, y2, action_id, person_id`, boxes normalised to
0-1. Timestamps are seconds in the original movie (AVA annotates 902-1798 s of each movie's
15-minute segment). Local files that hold the whole movie use them as they are; for files cut
to start at 900 s pass `time_offset=900` (the local time is `timestamp - time_offset`).

Every annotated (video, timestamp) becomes at most one clip: one that carries any positive
action goes to the positive class only, else one that carries a negative action to the negative
class. Sampling is seeded: `per_class` positives, and `per_class` negatives split evenly across
the negative actions, a short action's share filled from the others. Clips of `clip_seconds`
centred on the timestamp (shifted to stay inside the video) are cut with `video.cut.cut_clip`
into `ROOT/<class>/<video_id>_<timestamp>.mp4`, with ROOT/clips.csv and ROOT/summary.json, so
`build_index("folder:ROOT")` reads the result.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ..core.errors import MotionlensError, VideoError
from ..core.paths import UnsafePathError, join_inside, safe_name
from ..video import find_video, probe
from ..video.cut import cut_clip
from .ava_csv import AvaRow, read_ava_csv, timestamp_text  # noqa: F401  (re-exported: ava build's readers)

def actions_by_timestamp(path: str | os.PathLike,
                         rejected: list[str] | None = None) -> dict[tuple[str, float], set[int]]:
    """{(video_id, timestamp): every action annotated there, over all persons}; see `read_ava_csv`
    for `rejected`."""
    actions: dict[tuple[str, float], set[int]] = {}
    for row in read_ava_csv(path, rejected):
        actions.setdefault((row.video_id, row.timestamp), set()).add(row.action_id)
    return actions


def parse_actions(text: str | int | Sequence[str | int]) -> list[int]:
    """AVA action ids from ids and/or exact names, comma-separated: "64", "8,28,29",
    "fight/hit (a person)". Names may themselves hold commas ("drive (e.g., a car, a truck)"):
    the longest run of comma-separated parts that names an action wins."""
    from ..labels import ava_action_id

    if isinstance(text, (list, tuple)):
        return [i for part in text for i in parse_actions(part)]
    parts = str(text).split(",")
    ids, i = [], 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            candidate = ",".join(parts[i:j]).strip()
            try:
                ids.append(ava_action_id(candidate))
            except MotionlensError:
                continue
            i = j
            break
        else:
            raise MotionlensError(f"unknown AVA action '{parts[i].strip()}' in '{text}': give ids 1-80 or exact "
                                  "names, comma-separated (list them with `motionlens ava actions`)")
    if not ids:
        raise MotionlensError(f"no AVA action given in '{text}'")
    return list(dict.fromkeys(ids))


def clip_window(center: float, length: float, duration: float) -> tuple[float, float]:
    """[start, end) of `length` seconds centred on `center`, shifted to lie inside [0, duration]."""
    if length >= duration:
        return 0.0, duration
    start = min(max(center - length / 2, 0.0), duration - length)
    return start, start + length


@dataclass(frozen=True)
class AvaClip:
    class_name: str
    video_id: str
    timestamp: float  # seconds in the original movie, as in the CSV
    action_id: int  # the action it was sampled for
    actions: tuple[int, ...]  # every action at this timestamp
    source: str
    start: float  # seconds in the local source file
    end: float
    file: str  # relative to the output root


@dataclass
class AvaPlan:
    """Which clips to cut, and why the others are not there."""

    out: Path
    clips: list[AvaClip]
    positive: list[int]
    negative: list[int]
    positive_name: str
    negative_name: str
    per_class: int
    available: dict[str, int]  # class name or negative action id (as text) -> usable timestamps
    taken: dict[str, int]  # the same keys -> timestamps sampled
    missing_videos: list[str] = field(default_factory=list)  # have candidate timestamps, no local file
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    out_of_range: list[tuple[str, float]] = field(default_factory=list)  # timestamps outside the local file
    rejected: list[str] = field(default_factory=list)  # "csv:line: reason" of rows whose id is not a safe name


def plan_ava_clips(
    csv_path: str | os.PathLike,
    videos: str | os.PathLike,
    out: str | os.PathLike,
    positive: str | Sequence[int | str],
    negative: str | Sequence[int | str],
    per_class: int = 150,
    clip_seconds: float = 4.0,
    seed: int = 0,
    positive_name: str = "fight",
    negative_name: str = "no_fight",
    time_offset: float = 0.0,
) -> AvaPlan:
    """Read the CSV, find and probe the source videos, and sample the clips (see module docstring)."""
    positive, negative = parse_actions(positive), parse_actions(negative)
    both = sorted(set(positive) & set(negative))
    if both:
        raise MotionlensError(f"actions {both} are both positive and negative")
    for name in (positive_name, negative_name):
        try:
            safe_name(name, "class name")
        except UnsafePathError as err:
            raise MotionlensError(f"{err}: it cannot be a folder name") from None
        if name.startswith("."):
            raise MotionlensError(f"class name '{name}' cannot be a folder name")
    if positive_name == negative_name:
        raise MotionlensError(f"positive and negative classes are both named '{positive_name}'")
    if per_class < 1 or clip_seconds <= 0:
        raise MotionlensError("--per-class must be >= 1 and --clip-seconds > 0")
    if not Path(videos).is_dir():
        raise MotionlensError(f"videos folder not found: {videos}")

    rejected: list[str] = []
    actions = actions_by_timestamp(csv_path, rejected)
    wanted_pos, wanted_neg = set(positive), set(negative)
    candidates = {key: acts for key, acts in actions.items() if acts & (wanted_pos | wanted_neg)}
    plan = AvaPlan(out=Path(out), clips=[], positive=positive, negative=negative, positive_name=positive_name,
                   negative_name=negative_name, per_class=per_class, available={}, taken={}, rejected=rejected)

    sources, durations = _locate_sources(sorted({v for v, _ in candidates}), videos, plan)
    usable = []
    for key in sorted(candidates):
        video_id, timestamp = key
        if video_id not in sources:
            continue
        if not 0 <= timestamp - time_offset <= durations[video_id]:
            plan.out_of_range.append(key)
            continue
        usable.append(key)

    rng = random.Random(seed)
    pos_pool = [k for k in usable if candidates[k] & wanted_pos]
    neg_pools = {a: [k for k in usable if a in candidates[k] and not candidates[k] & wanted_pos] for a in negative}
    rng.shuffle(pos_pool)
    for pool in neg_pools.values():
        rng.shuffle(pool)
    chosen_pos = pos_pool[:per_class]
    chosen_neg = _balanced(neg_pools, per_class)

    plan.available = {positive_name: len(pos_pool),
                      **{str(a): len(pool) for a, pool in neg_pools.items()}}
    plan.taken = {positive_name: len(chosen_pos), **{str(a): 0 for a in negative}}
    picks = [(positive_name, k, min(candidates[k] & wanted_pos)) for k in chosen_pos]
    picks += [(negative_name, k, a) for k, a in chosen_neg]
    for class_name, (video_id, timestamp), action_id in sorted(picks, key=lambda p: (p[0], p[1])):
        if class_name == negative_name:
            plan.taken[str(action_id)] += 1
        start, end = clip_window(timestamp - time_offset, clip_seconds, durations[video_id])
        plan.clips.append(AvaClip(
            class_name=class_name, video_id=video_id, timestamp=timestamp, action_id=action_id,
            actions=tuple(sorted(actions[(video_id, timestamp)])),
            source=str(sources[video_id]), start=round(start, 6), end=round(end, 6),
            file=f"{class_name}/{video_id}_{timestamp_text(timestamp)}.mp4"))
    if not plan.clips:  # fail before touching the output: a wrong flag must not empty an existing clips.csv
        raise MotionlensError(_nothing_to_cut(plan, len(candidates), videos, time_offset))
    return plan


def _locate_sources(video_ids: list[str], videos, plan: AvaPlan) -> tuple[dict[str, Path], dict[str, float]]:
    """({video_id: source file}, {video_id: duration}); missing and unreadable ones go into `plan`."""
    sources, durations = {}, {}
    for video_id in video_ids:
        path = find_video(videos, video_id)
        if path is None:
            plan.missing_videos.append(video_id)
            continue
        try:
            durations[video_id] = probe(path).duration
            sources[video_id] = path.resolve()
        except VideoError as err:
            plan.unreadable.append((str(path), err.reason))
    return sources, durations


def _nothing_to_cut(plan: AvaPlan, num_candidates: int, videos, time_offset: float) -> str:
    reasons = [f"{num_candidates} annotated timestamps carry these actions"]
    if plan.rejected:
        reasons.append(f"{len(plan.rejected)} rows skipped for unsafe video ids (e.g. {plan.rejected[0]})")
    if plan.missing_videos or plan.unreadable:
        reasons.append(f"{len(plan.missing_videos)} of their videos are missing from {videos} "
                       f"and {len(plan.unreadable)} unreadable")
    if plan.out_of_range:
        video_id, timestamp = plan.out_of_range[0]
        reasons.append(f"{len(plan.out_of_range)} lie outside their local video (e.g. {video_id} at "
                       f"{timestamp - time_offset:g} s; is --time-offset {time_offset:g} right?)")
    return f"no clips to cut: {'; '.join(reasons)}"


def _balanced(pools: dict[int, list], total: int) -> list[tuple[object, int]]:
    """Take `total` distinct items split evenly over `pools` (earlier pools get the remainder);
    a pool's shortfall is filled round-robin from the pools that have more. [(item, pool key)]."""
    keys = list(pools)
    quota = {a: total // len(keys) + (1 if i < total % len(keys) else 0) for i, a in enumerate(keys)}
    taken, seen = [], set()
    cursor = {a: 0 for a in keys}

    def take(a: int) -> bool:
        pool = pools[a]
        while cursor[a] < len(pool):
            item = pool[cursor[a]]
            cursor[a] += 1
            if item not in seen:
                seen.add(item)
                taken.append((item, a))
                return True
        return False

    for a in keys:
        for _ in range(quota[a]):
            if not take(a):
                break
    progress = True
    while len(taken) < total and progress:
        progress = False
        for a in keys:
            if len(taken) < total and take(a):
                progress = True
    return taken


@dataclass
class AvaBuild:
    plan: AvaPlan
    written: list[dict] = field(default_factory=list)  # clips.csv rows of clips now on disk
    cut: Counter = field(default_factory=Counter)  # mode -> clips cut this run ("copy", "reencode", "existing")
    failures: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    stale: list[str] = field(default_factory=list)  # files in the class folders this plan does not name

    def summary(self) -> str:
        plan = self.plan
        per_class = Counter(row["class"] for row in self.written)
        negatives = " ".join(f"{a}:{plan.taken[str(a)]}" for a in plan.negative)
        text = (f"{len(self.written)} clips in {plan.out} ({per_class[plan.positive_name]} {plan.positive_name}, "
                f"{per_class[plan.negative_name]} {plan.negative_name} [{negatives}]; "
                f"{self.cut['copy']} copied, {self.cut['reencode']} re-encoded, {self.cut['existing']} already there)")
        short = [f"{name} {n} of {plan.per_class}" for name, n in
                 ((plan.positive_name, plan.taken[plan.positive_name]),
                  (plan.negative_name, sum(plan.taken[str(a)] for a in plan.negative))) if n < plan.per_class]
        problems = [f"only {', '.join(short)} available"] if short else []
        for count, what in ((len(plan.missing_videos), "videos missing"), (len(plan.unreadable), "videos unreadable"),
                            (len(plan.out_of_range), "timestamps outside their local video (check --time-offset)"),
                            (len(plan.rejected), "CSV rows skipped (video_id not a plain file name)"),
                            (len(self.failures), "clips failed"), (len(self.stale), "stale files not in clips.csv")):
            if count:
                problems.append(f"{count} {what}")
        return text + ("; " + "; ".join(problems) if problems else "")


def cut_ava_clips(plan: AvaPlan, mode: str = "auto", progress: Callable[[], None] | None = None) -> AvaBuild:
    """Cut the plan's clips (existing files are kept: re-running resumes), then write clips.csv and
    summary.json under `plan.out`. A clip that fails is listed, not fatal."""
    build = AvaBuild(plan)
    out = plan.out
    out.mkdir(parents=True, exist_ok=True)
    for clip in sorted(plan.clips, key=lambda c: (c.source, c.timestamp)):  # a source's packet table is read once
        dst = join_inside(out, clip.file)
        timestamp = int(clip.timestamp) if float(clip.timestamp).is_integer() else clip.timestamp
        row = {"class": clip.class_name, "video_id": clip.video_id, "timestamp": timestamp,
               "start": clip.start, "end": clip.end, "file": clip.file,
               "actions": " ".join(map(str, clip.actions)), "action_id": clip.action_id, "source": clip.source}
        if dst.exists():
            build.cut["existing"] += 1
            build.written.append(row)
        else:
            try:
                result = cut_clip(clip.source, dst, clip.start, clip.end, mode=mode)
                build.cut[result["mode"]] += 1
                build.written.append(row)
            except VideoError as err:
                build.failures.append((clip.file, err.reason))
        if progress:
            progress()
    build.written.sort(key=lambda row: row["file"])
    named = {clip.file for clip in plan.clips}
    for class_name in (plan.positive_name, plan.negative_name):
        folder = out / class_name
        if folder.is_dir():
            build.stale += sorted(f"{class_name}/{p.name}" for p in folder.iterdir()
                                  if not p.name.startswith(".") and f"{class_name}/{p.name}" not in named)
    with open(out / "clips.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["class", "video_id", "timestamp", "start", "end", "file", "actions",
                                               "action_id", "source"])
        writer.writeheader()
        writer.writerows(build.written)
    summary = {
        "summary": build.summary(),
        "positive": plan.positive, "negative": plan.negative, "per_class": plan.per_class,
        "available": plan.available, "taken": plan.taken, "cut": dict(build.cut),
        "missing_videos": plan.missing_videos, "unreadable": [list(u) for u in plan.unreadable],
        "out_of_range": [list(k) for k in plan.out_of_range], "failures": [list(f) for f in build.failures],
        "rejected_rows": plan.rejected,
        "stale": build.stale,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return build


def build_ava_dataset(csv_path, videos, out, positive, negative, per_class: int = 150, clip_seconds: float = 4.0,
                      seed: int = 0, positive_name: str = "fight", negative_name: str = "no_fight",
                      time_offset: float = 0.0, mode: str = "auto",
                      progress: Callable[[], None] | None = None) -> AvaBuild:
    """`plan_ava_clips` then `cut_ava_clips`; see those."""
    plan = plan_ava_clips(csv_path, videos, out, positive, negative, per_class=per_class, clip_seconds=clip_seconds,
                          seed=seed, positive_name=positive_name, negative_name=negative_name,
                          time_offset=time_offset)
    return cut_ava_clips(plan, mode=mode, progress=progress)

