"""Readers for the AVA files the detector trains on and is scored with.

- annotations `video_id, timestamp, x1, y1, x2, y2, action_id, person_id` and detections (score
  in place of person_id): `motionlens.dataprep.ava_csv` parses each row;
- the action list `.pbtxt` (`item { name: "..." id: N }`, `label_id:` also accepted);
- excluded timestamps `video_id, timestamp`;
- person boxes `video_id, timestamp, x1, y1, x2, y2[, score]` (the boxes to classify at inference).

Bad rows are listed as "file:line: reason" in `problems` and skipped; a missing file raises.
"""

from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path

from ..core.errors import MotionlensError
from ..core.paths import safe_name
from ..dataprep.ava_csv import AvaRow, PersonBox, read_ava_csv

_ITEM = re.compile(r"item\s*\{(.*?)\}", re.S)
_NAME = re.compile(r'^\s*name:\s*"(.*)"\s*$', re.M)
_ID = re.compile(r"^\s*(?:label_)?id:\s*(-?\d+)\s*$", re.M)


def _existing(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MotionlensError(f"{what} not found: {path}")
    return path


def read_labelmap(path: str | os.PathLike) -> dict[int, str]:
    """{action id: name} in file order, from an AVA action-list pbtxt."""
    path = _existing(path, "label map")
    text = path.read_text(encoding="utf-8")
    labelmap: dict[int, str] = {}
    for item in _ITEM.finditer(text):
        name, ident = _NAME.search(item.group(1)), _ID.search(item.group(1))
        line = text.count("\n", 0, item.start()) + 1
        if not name or not ident:
            raise MotionlensError(f"{path}:{line}: an item needs name: \"...\" and id: N")
        if int(ident.group(1)) < 1:
            raise MotionlensError(f"{path}:{line}: action ids start at 1, got {ident.group(1)}")
        labelmap[int(ident.group(1))] = name.group(1)
    if not labelmap:
        raise MotionlensError(f"{path}: no 'item {{ name: ... id: ... }}' entries; is it an AVA label map?")
    return labelmap


def read_exclusions(path: str | os.PathLike | None, problems: list[str]) -> set[tuple[str, int]]:
    """{(video_id, whole second)} of excluded keyframes; None reads as no exclusions."""
    if path is None:
        return set()
    path = _existing(path, "exclusions file")
    excluded = set()
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            try:
                if len(row) != 2:
                    raise MotionlensError(f"{len(row)} columns, expected 'video_id,timestamp'")
                excluded.add((safe_name(row[0].strip(), "video_id"), int(float(row[1]))))
            except (MotionlensError, ValueError) as err:
                problems.append(f"{path}:{line_no}: {err}")
    return excluded


def read_annotations(path: str | os.PathLike, problems: list[str], labelmap: dict[int, str] | None = None,
                     scored: bool = False) -> list[AvaRow]:
    """Rows of an annotation CSV (or, `scored`, a detection CSV); bad rows and, with a label map,
    rows of actions it does not list, are reported in `problems` and skipped."""
    return list(read_ava_csv(path, problems, scored=scored, skip_bad=True, known_actions=labelmap))


def read_person_boxes(path: str | os.PathLike, problems: list[str]) -> list[PersonBox]:
    """Person boxes from `video_id, timestamp, x1, y1, x2, y2[, score]` rows (score 1 if absent)."""
    path = _existing(path, "person-box CSV")
    boxes = []
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            if line_no == 1 and len(row) > 1 and "timestamp" in row[1].lower():
                continue
            try:
                boxes.append(_person_box(row))
            except (MotionlensError, ValueError) as err:
                problems.append(f"{path}:{line_no}: {err}")
    return boxes


def _person_box(row: list[str]) -> PersonBox:
    if len(row) not in (6, 7):
        raise MotionlensError(f"{len(row)} columns, expected 'video_id,timestamp,x1,y1,x2,y2[,score]'")
    video_id = safe_name(row[0].strip(), "video_id")
    timestamp, *box = (float(v) for v in row[1:6])
    score = float(row[6]) if len(row) == 7 and row[6].strip() else 1.0
    x1, y1, x2, y2 = box
    if not all(0.0 <= v <= 1.0 for v in box) or x2 <= x1 or y2 <= y1:
        raise MotionlensError(f"box {','.join(row[2:6])} is not normalised x1<x2, y1<y2 in 0-1")
    if not (math.isfinite(timestamp) and timestamp >= 0 and math.isfinite(score)):
        raise MotionlensError(f"timestamp {row[1]} or score is not a finite number >= 0")
    return PersonBox(video_id, timestamp, (x1, y1, x2, y2), score)
