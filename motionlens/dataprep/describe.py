"""Describe a dataset before training on it: a catalogue, class counts, durations and thumbnails.

Works on anything shaped like a VideoIndex: `.records` (path, class_name, split, num_frames, fps,
duration, width, height, video_id) and `.classes`. Videos whose frames cannot be read are counted
and listed, never fatal: finding them is part of what this is for.
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import VideoError
from ..video import frame_folder, frame_table, read_frames

SPLIT_ORDER = ("train", "val", "test", "unused")
_THUMB_SIDE = 128  # short side of saved thumbnails, pixels
_SHEET_CELL = (96, 128)  # (H, W) of one contact-sheet cell
_SHEET_MAX_ROWS = 60  # a contact sheet of UCF101's 101 rows is no longer one readable picture
_LAST_FRAME_RETRIES = 5  # damaged endings are common: step back this many frames before giving up


def describe(index, out_dir: str | os.PathLike, thumbs_per_class: int = 3) -> dict:
    """Write catalogue.csv, class_counts.csv, durations.png, thumbnails/ and thumbnails.png.

    Returns {"num_videos", "num_classes", "counts" {class: {split: n, "total": n}},
    "total_duration" (seconds), "thumbnail_failures" [(path, reason)], "decode_problems" [(path,
    reason)] for files that end early or hold damaged data ("decoded 16 of 100 frames"), "files" [paths]}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = list(index.records)
    classes = list(index.classes) + sorted({r.class_name for r in records} - set(index.classes))
    files = [_write_catalogue(out / "catalogue.csv", records)]
    counts, counts_file = _write_counts(out / "class_counts.csv", records, classes)
    files.append(counts_file)
    files.append(_plot_durations(out / "durations.png", records, classes))
    thumbs, failures, thumb_files = _thumbnails(out / "thumbnails", records, classes, thumbs_per_class)
    problems = _decode_problems(records)
    files.extend(thumb_files)
    if thumbs:
        files.append(_contact_sheet(out / "thumbnails.png", thumbs))
    return {
        "num_videos": len(records),
        "num_classes": len(classes),
        "counts": counts,
        "total_duration": float(sum(r.duration for r in records)),
        "thumbnail_failures": failures,
        "decode_problems": problems,
        "files": [str(f) for f in files],
    }


def _write_catalogue(path: Path, records) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "class", "split", "frames", "fps", "duration", "width", "height"])
        for r in records:
            writer.writerow([r.path, r.class_name, r.split, r.num_frames, f"{r.fps:.3f}", f"{r.duration:.3f}",
                             r.width, r.height])
    return path


def _write_counts(path: Path, records, classes: list[str]) -> tuple[dict, Path]:
    per_class = {c: Counter() for c in classes}
    for r in records:
        per_class[r.class_name][r.split] += 1
    present = {r.split for r in records}
    splits = [s for s in SPLIT_ORDER if s in present] + sorted(present - set(SPLIT_ORDER))
    counts = {c: {**{s: per_class[c][s] for s in splits}, "total": sum(per_class[c].values())} for c in classes}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", *splits, "total"])
        for c in classes:
            writer.writerow([c, *(counts[c][s] for s in splits), counts[c]["total"]])
    return counts, path


def _plot_durations(path: Path, records, classes: list[str]) -> Path:
    """A histogram of all durations beside a box per class."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Figure + Agg canvas rather than pyplot: no global state, no display needed, thread-safe.
    by_class = [[r.duration for r in records if r.class_name == c] for c in classes]
    fig = Figure(figsize=(11, max(3.5, 0.22 * len(classes) + 1.5)))
    FigureCanvasAgg(fig)
    hist, box = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    everything = [d for ds in by_class for d in ds]
    hist.hist(everything or [0], bins=30, color="#4c72b0")
    hist.set(xlabel="duration (s)", ylabel="videos", title=f"{len(everything)} videos")
    shown = [(c, ds) for c, ds in zip(classes, by_class) if ds]
    if shown:
        # `vert` is deprecated from Matplotlib 3.10, which added `orientation`; we support 3.8 on.
        horizontal = {"orientation": "horizontal"} if _mpl_at_least(3, 10) else {"vert": False}
        box.boxplot([ds for _, ds in shown], **horizontal)
        box.invert_yaxis()  # first class on top, as in the CSVs
        box.set_yticks(range(1, len(shown) + 1), [c for c, _ in shown],
                       fontsize=max(4, min(9, 400 // max(len(shown), 1))))
    box.set(xlabel="duration (s)", title="per class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def _mpl_at_least(major: int, minor: int) -> bool:
    import matplotlib

    return tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (major, minor)


def _safe(name: str) -> str:
    """A file name made from a class name or id (which may come from a downloaded CSV)."""
    text = re.sub(r"[\\/:*?\"<>|\x00-\x1f]+", "_", str(name)).strip()[:120]
    return "_" if text in ("", ".", "..") else text


def _pick(records, k: int) -> list:
    """k records spread evenly over the list, so thumbnails are not all from one group or source."""
    if len(records) <= k:
        return list(records)
    return [records[i] for i in np.linspace(0, len(records) - 1, k).round().astype(int)]


def _read_ends(record) -> tuple[np.ndarray, np.ndarray]:
    """First and last frame (H, W, 3) of a record's video or segment; steps back from a last frame
    that does not decode. Raises VideoError when nothing usable is found."""
    first = int(getattr(record, "first_frame", 0))
    last = int(getattr(record, "last_frame", record.num_frames - 1))
    size = _THUMB_SIDE if min(record.height, record.width) > _THUMB_SIDE else None
    start = read_frames(record.path, [first], size=size)[0]
    error = None
    for index in range(last, max(first, last - _LAST_FRAME_RETRIES) - 1, -1):
        try:
            return start, read_frames(record.path, [index], size=size)[0]
        except VideoError as err:
            error = err
    raise error or VideoError(record.path, "no last frame could be decoded")


def _decode_problems(records) -> list[tuple[str, str]]:
    """Video files whose frame table (cached by the index) shows truncation or damage."""
    problems = []
    for path in sorted({r.path for r in records if frame_folder(r.path) is None}):
        try:
            problem = frame_table(path).problem()
        except VideoError:
            continue  # unreadable files are the index's failures
        if problem:
            problems.append((path, problem))
    return problems


def _thumbnails(folder: Path, records, classes: list[str], per_class: int):
    """Save first/last frames of a few videos per class; returns ({class: [(first, last)]}, failures, files)."""
    thumbs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    failures: list[tuple[str, str]] = []
    files: list[Path] = []
    for c in classes:
        members = sorted((r for r in records if r.class_name == c), key=lambda r: r.path)
        for r in _pick(members, per_class):
            try:
                first, last = _read_ends(r)
            except VideoError as err:
                failures.append((r.path, err.reason))
                continue
            except Exception as err:  # a decoder bug on one file must not stop the description
                failures.append((r.path, f"{type(err).__name__}: {err}"))
                continue
            target = folder / _safe(c)
            target.mkdir(parents=True, exist_ok=True)
            video_id = _safe(getattr(r, "video_id", "") or Path(r.path).stem)
            for tag, image in (("first", first), ("last", last)):
                file = target / f"{video_id}_{tag}.jpg"
                cv2.imwrite(str(file), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
                files.append(file)
            thumbs.setdefault(c, []).append((first, last))
    return thumbs, failures, files


def _fit(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Letterbox an image (H, W, 3) into (height, width, 3) on black, keeping its aspect ratio."""
    scale = min(height / image.shape[0], width / image.shape[1])
    h, w = max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))
    cell = np.zeros((height, width, 3), np.uint8)
    top, left = (height - h) // 2, (width - w) // 2
    cell[top:top + h, left:left + w] = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return cell


def _contact_sheet(path: Path, thumbs: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> Path:
    """One picture: a row per class (the first _SHEET_MAX_ROWS), its name, then first|last pairs."""
    ch, cw = _SHEET_CELL
    label_w, gap, header = 180, 6, 22
    pairs = max(len(v) for v in thumbs.values())
    rows = list(thumbs.items())[:_SHEET_MAX_ROWS]
    width = label_w + pairs * (2 * cw + gap)
    sheet = np.full((header + len(rows) * (ch + 2), width, 3), 255, np.uint8)
    for p in range(pairs):
        x = label_w + p * (2 * cw + gap)
        cv2.putText(sheet, "first", (x + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
        cv2.putText(sheet, "last", (x + cw + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1, cv2.LINE_AA)
    for i, (name, items) in enumerate(rows):
        y = header + i * (ch + 2)
        cv2.putText(sheet, str(name)[:24], (6, y + ch // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)
        for p, (first, last) in enumerate(items):
            x = label_w + p * (2 * cw + gap)
            sheet[y:y + ch, x:x + cw] = _fit(first, ch, cw)
            sheet[y:y + ch, x + cw:x + 2 * cw] = _fit(last, ch, cw)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path
