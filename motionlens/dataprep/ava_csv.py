"""AVA v2.x files, parsed, validated and written in one place (`ava build`, `synth --layout ava` and the
detection code all use them): CSV rows, label maps, person boxes.

Annotation CSVs hold `video_id, middle_frame_timestamp, x1, y1, x2, y2, action_id, person_id`;
detection CSVs (what a detector writes, what the evaluator reads) hold a score in place of
person_id. Boxes are normalised to 0-1, x before y. No header (a header some tools add is skipped).
Timestamps are seconds in the original movie: AVA annotates 902-1798 s of each movie's
15-minute segment that starts at 900 s.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Container, Iterable, Iterator, NamedTuple

from ..core.atomic import atomic_write, write_text
from ..core.errors import MotionlensError
from ..core.paths import UnsafePathError, safe_name

_EXPECTED = "expected 'video_id,timestamp,x1,y1,x2,y2,action_id,{last}' with boxes in 0-1"


class PersonBox(NamedTuple):
    video_id: str
    timestamp: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2, normalised
    score: float


class AvaRow(NamedTuple):
    video_id: str
    timestamp: float  # seconds in the original movie
    box: tuple[float, float, float, float]  # x1, y1, x2, y2, normalised
    action_id: int
    person_id: int | None
    score: float = 1.0  # detection CSVs only; annotations are certain


def timestamp_text(timestamp: float) -> str:
    """AVA's own spelling: 902 -> "0902"; fractional seconds keep 3 decimals."""
    return f"{int(timestamp):04d}" if float(timestamp).is_integer() else f"{timestamp:08.3f}"


def read_ava_csv(path: str | os.PathLike, rejected: list[str] | None = None, scored: bool = False,
                 skip_bad: bool = False, known_actions: Container[int] | None = None) -> Iterator[AvaRow]:
    """Rows of an AVA CSV, validated; a bad row raises MotionlensError naming file:line.

    `scored`: the 8th column is a detection score, not a person id. A `video_id` that is not a
    plain file name (`../x`, `/tmp/x`, NUL bytes, too long) would read or write outside the given
    folders: with `rejected`, such a row is listed there as "file:line: reason" and skipped. With
    `skip_bad` (needs `rejected`) every bad row is listed and skipped, not only unsafe names.
    `known_actions`: an action id outside it makes the row bad."""
    path = Path(path)
    if not path.is_file():
        raise MotionlensError(f"AVA CSV not found: {path}")
    with open(path, newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            if line_no == 1 and len(row) > 1 and "timestamp" in row[1].lower():
                continue  # a header some tools add; AVA's own files have none
            try:
                parsed = parse_ava_row(row, f"{path}:{line_no}", scored)
                if known_actions is not None and parsed.action_id not in known_actions:
                    raise MotionlensError(f"{path}:{line_no}: action id {parsed.action_id} is not in the label map")
                yield parsed
            except MotionlensError as err:
                if rejected is None or not (skip_bad or isinstance(err, UnsafePathError)):
                    raise
                rejected.append(str(err))


def parse_ava_row(row: list[str], where: str, scored: bool = False) -> AvaRow:
    """One CSV row -> AvaRow; `where` ("file:line") starts every error message."""
    expected = _EXPECTED.format(last="score" if scored else "person_id")
    if len(row) not in (7, 8):
        raise MotionlensError(f"{where}: {len(row)} columns, {expected}")
    video_id = row[0].strip()
    if not video_id:
        raise MotionlensError(f"{where}: empty video_id")
    try:
        safe_name(video_id, "video_id")
    except UnsafePathError as err:
        raise UnsafePathError(f"{where}: {err}") from None
    try:
        timestamp = float(row[1])
        box = tuple(float(v) for v in row[2:6])
    except ValueError:
        raise MotionlensError(f"{where}: timestamp and box must be numbers, got {','.join(row[1:6])}") from None
    if not math.isfinite(timestamp) or timestamp < 0:
        raise MotionlensError(f"{where}: timestamp must be a number of seconds >= 0, got {row[1]}")
    x1, y1, x2, y2 = box
    if not all(0.0 <= v <= 1.0 for v in box) or x1 > x2 or y1 > y2:
        raise MotionlensError(f"{where}: box {','.join(row[2:6])} is not normalised x1<=x2, y1<=y2 in 0-1")
    try:
        action_id = int(row[6])
    except ValueError:
        what = "action_id must be an integer" if scored else "action_id and person_id must be integers"
        raise MotionlensError(f"{where}: {what}, got {','.join(row[6:])}") from None
    if action_id < 1:
        raise MotionlensError(f"{where}: action_id must be >= 1, got {action_id}")
    person_id, score = _last_column(row, where, scored)
    try:
        safe_name(f"{video_id}_{timestamp_text(timestamp)}.mp4", "clip name")
    except UnsafePathError as err:
        raise UnsafePathError(f"{where}: {err}") from None
    return AvaRow(video_id, timestamp, box, action_id, person_id, score)


def _last_column(row: list[str], where: str, scored: bool) -> tuple[int | None, float]:
    last = row[7].strip() if len(row) == 8 else ""
    if scored:
        try:
            score = float(last) if last else 1.0
        except ValueError:
            raise MotionlensError(f"{where}: score must be a number, got {last}") from None
        if not math.isfinite(score):
            raise MotionlensError(f"{where}: score must be finite, got {last}")
        return None, score
    try:
        return (int(last) if last else None), 1.0
    except ValueError:
        raise MotionlensError(f"{where}: action_id and person_id must be integers, got {','.join(row[6:])}") from None


def write_labelmap(path: str | os.PathLike, labelmap: dict[int, str]) -> Path:
    """The pbtxt that `read_labelmap` (and ActivityNet's evaluator) read."""
    text = "".join(f'item {{\n  name: "{name}"\n  id: {i}\n}}\n' for i, name in labelmap.items())
    return write_text(path, text)


def write_ava_csv(path: str | os.PathLike, rows: Iterable[AvaRow], scored: bool = False) -> Path:
    """AVA CSV (8th column the score if `scored`, else the person id), written atomically."""
    with atomic_write(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        for r in rows:
            last = f"{r.score:.6f}" if scored else ("" if r.person_id is None else r.person_id)
            writer.writerow([r.video_id, timestamp_text(r.timestamp), *(f"{v:.3f}" for v in r.box), r.action_id,
                             last])
    return Path(path)


def write_person_boxes(path: str | os.PathLike, boxes: Iterable[PersonBox]) -> Path:
    """Person-box CSV that `read_person_boxes` reads."""
    with atomic_write(path, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        for b in boxes:
            writer.writerow([b.video_id, timestamp_text(b.timestamp), *(f"{v:.4f}" for v in b.box), f"{b.score:.4f}"])
    return Path(path)
