"""The records a dataset index is made of, shared by the layout parsers and the index."""

from __future__ import annotations

import csv
import os
import random
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from ..core.errors import MotionlensError

SPLITS = ("train", "val", "test", "unused")



def split_from_name(name: str) -> str | None:
    """"train" / "val" / "test" from a name such as `validate`, `trainlist01`, `kinetics_test.csv`."""
    name = name.lower()
    for key, split in (("train", "train"), ("val", "val"), ("test", "test")):
        if key in name:
            return split
    return None

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


SPLIT_DIRS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
              "validation": "val", "test": "test", "testing": "test"}


@dataclass
class Parsed:
    layout: str
    entries: list[Entry]
    classes: list[str]
    report: SplitReport = field(default_factory=SplitReport)
