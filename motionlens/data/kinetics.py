"""Kinetics CSVs and clip names, read one way by the layout parser (`layouts.parse_kinetics`) and
the trimmer (`dataprep.trim`).

A CSV has a header naming `label,youtube_id,time_start,time_end,split` (test CSVs have no label,
some no split); each row is a window of a YouTube video, and the clip cut from it is named
`<youtube_id>_<time_start:06d>_<time_end:06d>`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterator, NamedTuple

from ..core.errors import MotionlensError
from ..core.paths import safe_name
from .records import split_from_name

COLUMNS = {"youtube_id", "time_start", "time_end"}


class KineticsRow(NamedTuple):
    """One row of a Kinetics CSV; `where` is `csv:line` for messages."""

    where: str
    youtube_id: str  # stripped; may be empty (callers decide whether that is fatal)
    label: str  # stripped; "" in test CSVs
    start: float  # seconds, as the CSV gives them
    end: float
    split: str  # train | val | test: the row's split column, else the CSV's name, else train


def is_kinetics_csv(path: str | os.PathLike) -> bool:
    """True when the file's header names the Kinetics columns."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        return COLUMNS <= set(csv.DictReader(f).fieldnames or ())


def read_kinetics_csv(path: str | os.PathLike) -> Iterator[KineticsRow]:
    """The rows of a Kinetics CSV. MotionlensError for a missing file, a header without the
    Kinetics columns, or times that are not numbers (naming `csv:line`)."""
    path = Path(path)
    if not path.is_file():
        raise MotionlensError(f"Kinetics CSV not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not COLUMNS <= set(reader.fieldnames or ()):
            raise MotionlensError(f"{path}: not a Kinetics CSV (header must name label,youtube_id,time_start,"
                                  f"time_end,split; got {','.join(reader.fieldnames or [])})")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            try:
                start, end = float(row["time_start"]), float(row["time_end"])
            except (TypeError, ValueError):
                raise MotionlensError(f"{where}: time_start and time_end must be numbers, got "
                                      f"{row.get('time_start')!r}, {row.get('time_end')!r}") from None
            split = split_from_name((row.get("split") or "").strip() or path.stem) or "train"
            yield KineticsRow(where, (row.get("youtube_id") or "").strip(), (row.get("label") or "").strip(),
                              start, end, split)


def kinetics_name(youtube_id: str, time_start: float, time_end: float) -> str:
    """The Kinetics clip name `<youtube_id>_<time_start:06d>_<time_end:06d>` (no extension).

    The id comes from a downloaded CSV: UnsafePathError (see `paths.safe_name`) when it, or the
    name, is not one plain file name."""
    name = f"{safe_name(youtube_id, 'youtube_id')}_{int(time_start):06d}_{int(time_end):06d}"
    return safe_name(name, "clip name")


def kinetics_classes(labels: set[str]) -> list[str]:
    """Class order of a Kinetics dataset: the official Kinetics-400 list (the label indices of
    every Kinetics-400 head) when the CSV labels are Kinetics-400 names, so that a partial
    download or a subset CSV cannot shift indices; otherwise (Kinetics-600/700) the CSV's labels, sorted."""
    from ..labels import kinetics400_classes

    official = kinetics400_classes()
    if labels and labels <= set(official):
        return official
    return sorted(labels)
