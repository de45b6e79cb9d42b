"""VideoIndex: the list of (video, label, split) records a dataset is made of.

An index is built from a dataset laid out as it ships (see `layouts.py`). Building counts
each file's frames as the decoders give them (`probe(exact=True)`: demuxing, no decoding, except
AVIs with B-frames), caches what it read by path, size and mtime, and never crashes on a
bad file: the file is left out and listed in `failures` with its reason.
"""

from __future__ import annotations

import csv
import json
import os
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from ..errors import MotionlensError, VideoError
from ..video import probe

SPLITS = ("train", "val", "test", "unused")


@dataclass(frozen=True)
class VideoRecord:
    """One video (or one trimmed segment of a video, when start/end are set)."""

    path: str  # video file or frame folder
    label: int  # index into VideoIndex.classes; -1 when the split file gives none
    class_name: str
    split: str = "train"  # train | val | test | unused
    start: float | None = None  # seconds, for segments of longer videos
    end: float | None = None
    video_id: str = ""
    fps: float = 0.0
    num_frames: int = 0
    duration: float = 0.0
    width: int = 0
    height: int = 0
    frames_estimated: bool = False  # num_frames is the container's claim, not a count (see video.probe)

    @property
    def first_frame(self) -> int:
        return int(round(self.start * self.fps)) if self.start is not None else 0

    @property
    def last_frame(self) -> int:
        """Last usable frame (inclusive) of the record's segment."""
        stop = int(round(self.end * self.fps)) if self.end is not None else self.num_frames
        return max(self.first_frame, min(stop, self.num_frames) - 1)

    @property
    def segment_frames(self) -> int:
        return self.last_frame - self.first_frame + 1


@dataclass
class SplitReport:
    """Differences between a layout's split/annotation files and the files on disk."""

    listed_missing: list[str] = field(default_factory=list)  # named in a list, not on disk
    unlisted: list[str] = field(default_factory=list)  # on disk, named in no list
    rejected: list[str] = field(default_factory=list)  # "file:line: reason": names that would leave the root

    def lines(self, examples: int = 3) -> list[str]:
        out = [f"skipped {line}" for line in self.rejected[:examples]]
        if len(self.rejected) > examples:
            out.append(f"... and {len(self.rejected) - examples} more rows skipped for unsafe names")
        for what, items in (("listed but missing on disk", self.listed_missing),
                             ("on disk but in no split file", self.unlisted)):
            if items:
                shown = ", ".join(items[:examples]) + (", ..." if len(items) > examples else "")
                out.append(f"{len(items)} {what} (e.g. {shown})")
        return out


@dataclass
class VideoIndex:
    records: list[VideoRecord]
    classes: list[str]
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    report: SplitReport = field(default_factory=SplitReport)
    root: str = ""
    layout: str = ""

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> VideoRecord:
        return self.records[i]

    def __iter__(self):
        return iter(self.records)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def subset(self, split: str | Sequence[str]) -> "VideoIndex":
        """Only the records of one split (or several)."""
        wanted = {split} if isinstance(split, str) else set(split)
        unknown = wanted - set(SPLITS)
        if unknown:
            raise MotionlensError(f"unknown split {sorted(unknown)}; expected one of {list(SPLITS)}")
        return replace(self, records=[r for r in self.records if r.split in wanted])

    def filter(self, keep: Callable[[VideoRecord], bool]) -> "VideoIndex":
        return replace(self, records=[r for r in self.records if keep(r)])

    def class_counts(self) -> dict[str, Counter]:
        """{class name: Counter(split -> count)}, every class present even when empty."""
        counts = {name: Counter() for name in self.classes}
        for r in self.records:
            counts.setdefault(r.class_name, Counter())[r.split] += 1
        return counts

    def with_val_split(self, fraction: float = 0.1, seed: int = 0) -> "VideoIndex":
        """Move a stratified, seeded `fraction` of each class's train records to split "val".

        Classes with a single train video keep it in train."""
        if not 0 < fraction < 1:
            raise MotionlensError(f"validation fraction must be between 0 and 1, got {fraction}")
        rng = random.Random(seed)
        by_class: dict[int, list[int]] = {}
        for i, r in enumerate(self.records):
            if r.split == "train":
                by_class.setdefault(r.label, []).append(i)
        to_val = set()
        for label in sorted(by_class):
            members = sorted(by_class[label], key=lambda i: self.records[i].path)
            if len(members) < 2:
                continue
            rng.shuffle(members)
            to_val.update(members[: max(1, round(len(members) * fraction))])
        records = [replace(r, split="val") if i in to_val else r for i, r in enumerate(self.records)]
        return replace(self, records=records)

    def to_csv(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        names = list(VideoRecord.__dataclass_fields__)
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=names)
            writer.writeheader()
            for r in self.records:
                writer.writerow(asdict(r))
        return path

    def summary(self) -> str:
        splits = Counter(r.split for r in self.records)
        parts = ", ".join(f"{splits[s]} {s}" for s in SPLITS if splits[s])
        text = f"{len(self.records)} videos in {self.num_classes} classes ({parts or 'none'})"
        if self.failures:
            text += f"; {len(self.failures)} unreadable files left out"
        return text


@dataclass(frozen=True)
class Entry:
    """What a layout parser finds before probing: a path with its label and split."""

    path: str
    class_name: str
    split: str = "train"
    start: float | None = None
    end: float | None = None
    video_id: str = ""


def default_cache_dir() -> Path:
    return Path(os.environ.get("MOTIONLENS_CACHE", Path.home() / ".cache" / "motionlens")) / "probe"


class ProbeCache:
    """Probe results keyed by absolute path, valid while size and mtime are unchanged.

    One JSON file per dataset root, so a second indexing of the same root is instant and a
    changed file is re-probed."""

    def __init__(self, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None):
        import hashlib

        # "v2": frame counts are exact since v2; older caches hold header counts
        root_key = hashlib.sha1(f"v2:{Path(root).resolve()}".encode()).hexdigest()[:16]
        self.file = Path(cache_dir or default_cache_dir()) / f"{root_key}.json"
        self.entries: dict[str, list] = {}
        self.hits = 0
        if self.file.exists():
            try:
                self.entries = json.loads(self.file.read_text())
            except (json.JSONDecodeError, OSError):
                self.entries = {}  # a damaged cache is rebuilt, never fatal

    @staticmethod
    def stamp(path: str) -> tuple[int, int]:
        st = os.stat(path)
        return st.st_size, st.st_mtime_ns

    def get(self, path: str) -> dict | None:
        entry = self.entries.get(path)
        if entry is None:
            return None
        try:
            if tuple(entry[:2]) != self.stamp(path):
                return None
        except OSError:
            return None
        self.hits += 1
        return entry[2]

    def put(self, path: str, result: dict) -> None:
        try:
            self.entries[path] = [*self.stamp(path), result]
        except OSError:
            pass  # the file vanished between probe and stamp: nothing worth caching

    def save(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.entries))
        os.replace(tmp, self.file)


def _probe_one(path: str, frames_fps: float) -> dict:
    try:
        # exact: the frame count the decoders give (a header count may lie: VFR and truncated
        # AVIs, edit lists), so samplers never ask for frames that are not there
        info = probe(path, default_fps=frames_fps, exact=True)
    except VideoError as err:
        return {"error": err.reason}
    except Exception as err:  # an unexpected decoder failure must not stop a 10,000-file index
        return {"error": f"{type(err).__name__}: {err}"}
    return {k: getattr(info, k) for k in ("fps", "num_frames", "duration", "width", "height", "frames_estimated")}


def probe_entries(
    entries: Sequence[Entry],
    classes: Sequence[str],
    root: str | os.PathLike,
    cache: bool = True,
    frames_fps: float = 25.0,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 8,
) -> tuple[list[VideoRecord], list[tuple[str, str]]]:
    """Probe every entry (headers only, threaded, cached) into records; failures are listed, not raised."""
    store = ProbeCache(root) if cache else None
    label_of = {name: i for i, name in enumerate(classes)}
    paths = sorted({e.path for e in entries})
    results: dict[str, dict] = {}
    todo = []
    for p in paths:
        hit = store.get(p) if store else None
        if hit is not None:
            results[p] = hit
        else:
            todo.append(p)
    done = len(results)
    if progress:
        progress(done, len(paths))
    if todo:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for p, result in zip(todo, pool.map(lambda p: _probe_one(p, frames_fps), todo)):
                results[p] = result
                if store:
                    store.put(p, result)
                done += 1
                if progress:
                    progress(done, len(paths))
        if store:
            store.save()
    records, failures = [], []
    for e in entries:
        meta = results[e.path]
        if "error" in meta:
            failures.append((e.path, meta["error"]))
            continue
        records.append(VideoRecord(path=e.path, label=label_of.get(e.class_name, -1), class_name=e.class_name,
                                   split=e.split, start=e.start, end=e.end,
                                   video_id=e.video_id or Path(e.path).stem, **meta))
    failures = sorted(set(failures))
    return records, failures


def build_index(
    data: str | os.PathLike,
    layout: str | None = None,
    split: int = 1,
    annotations: str | os.PathLike | None = None,
    cache: bool = True,
    frames_fps: float = 25.0,
    progress: Callable[[int, int], None] | None = None,
) -> VideoIndex:
    """Index a dataset. `data` is a root folder, or a spec "layout:root" as the CLI's --data takes.

    layout: folder | hmdb51 | ucf101 | kinetics | list | hara | auto (None = from the spec, else auto).
    `split` picks the official split (1-3) where a layout has several. `annotations` points at the
    split/annotation files when they are not where the layout expects them."""
    from . import layouts

    layout, root = parse_data_spec(data, layout)
    if not root.exists():
        raise MotionlensError(f"data path not found: {root}")
    parsed = layouts.parse(layout, root, split=split, annotations=annotations)
    records, failures = probe_entries(parsed.entries, parsed.classes, root, cache=cache,
                                      frames_fps=frames_fps, progress=progress)
    return VideoIndex(records=records, classes=list(parsed.classes), failures=failures,
                      report=parsed.report, root=str(root), layout=parsed.layout)


def parse_data_spec(data: str | os.PathLike, layout: str | None = None) -> tuple[str, Path]:
    """("layout", root) from "layout:root" or a plain path (layout then `layout` or "auto")."""
    from .layouts import LAYOUTS

    text = str(data)
    head, sep, tail = text.partition(":")
    if sep and head in LAYOUTS and not (len(head) == 1 and tail.startswith("\\")):
        if layout and layout != head:
            raise MotionlensError(f"--layout {layout} contradicts the data spec '{text}'")
        return head, Path(tail).expanduser().absolute()
    if sep and len(head) > 1 and head.replace("_", "").isalnum() and not Path(text).expanduser().exists():
        import difflib

        close = difflib.get_close_matches(head, list(LAYOUTS), n=1)
        hint = f"did you mean {close[0]}:{tail}? " if close else ""
        raise MotionlensError(f"unknown layout '{head}' in '{text}': {hint}layouts are {', '.join(LAYOUTS)} "
                              "(LAYOUT:ROOT)")
    layout = layout or "auto"
    if layout not in LAYOUTS:
        raise MotionlensError(f"unknown layout '{layout}'; expected one of {', '.join(LAYOUTS)}")
    return layout, Path(text).expanduser().absolute()

