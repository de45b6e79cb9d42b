"""Parsers for dataset layouts exactly as they ship. Each returns entries (path, class, split)
before any video is opened; `index.build_index` probes them.

A "video" is a file with a video extension or a folder of extracted frames, so every layout
also reads its frame-folder variant (e.g. UCF101 `jpegs_256/v_X_g01_c01/frame000001.jpg`).
Names from split files are matched to disk without regard to case (UCF101 lists say
`HandStandPushups`, its folder says `HandstandPushups`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..core.errors import MotionlensError
from ..core.paths import UnsafePathError, join_inside, safe_name, safe_relpath
from ..video import VIDEO_EXTENSIONS
from ..video.frame_dir import IMAGE_EXTENSIONS
from .kinetics import is_kinetics_csv, kinetics_classes, kinetics_name, read_kinetics_csv
from .records import SPLIT_DIRS, Entry, Parsed, SplitReport, split_from_name


class DiskVideos:
    """Every video file and frame folder under a root, found in one walk, looked up by name."""

    def __init__(self, root: Path):
        self.root = root
        self.paths: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if dirpath != str(root) and any(f.lower().endswith(IMAGE_EXTENSIONS) for f in filenames):
                self.paths.append(dirpath)  # a frame folder is one video: do not descend
                dirnames[:] = []
                continue
            self.paths.extend(os.path.join(dirpath, f) for f in sorted(filenames)
                              if f.lower().endswith(VIDEO_EXTENSIONS) and not f.startswith("."))
        self.by_stem: dict[str, list[str]] = {}
        for p in self.paths:
            self.by_stem.setdefault(_stem(p).lower(), []).append(p)

    def find(self, name: str, class_name: str | None = None) -> str | None:
        """The path of `name` (a file name or relative path, extension optional), preferring one
        whose parent folder is `class_name`; case-insensitive."""
        candidates = self.by_stem.get(_stem(name).lower(), [])
        if len(candidates) > 1:
            parent = Path(name).parent.name.lower() or (class_name or "").lower()
            preferred = [c for c in candidates if Path(c).parent.name.lower() == parent]
            candidates = preferred or candidates
        return candidates[0] if candidates else None


def _stem(name: str) -> str:
    base = os.path.basename(name.rstrip("/\\"))
    root, ext = os.path.splitext(base)
    return root if ext.lower() in VIDEO_EXTENSIONS else base


def _rel(path: str, root: Path) -> str:
    return os.path.relpath(path, root)


def _find_files(root: Path, annotations: str | os.PathLike | None, pattern: str) -> list[Path]:
    base = Path(annotations) if annotations else root
    if base.is_file():
        return [base] if re.fullmatch(pattern.replace("*", ".*"), base.name) else []
    found = sorted(base.rglob(pattern))
    if not found and not annotations:  # split files often sit beside the video folder
        found = sorted(p for p in root.parent.glob(f"*/{pattern}") if p.parent != root)
    return found


def _read_lines(path: Path) -> list[str]:
    return [line for _, line in _numbered_lines(path)]


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    """(line number from 1, stripped text) of the non-empty lines."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def parse_folder(root: Path, split: int = 1, annotations=None) -> Parsed:
    """root/<class>/<video>, or root/<train|val|test>/<class>/<video>."""
    disk = DiskVideos(root)
    entries = []
    for path in disk.paths:
        parts = Path(_rel(path, root)).parts
        if len(parts) < 2:
            continue  # a video directly under root has no class
        split_name = SPLIT_DIRS.get(parts[0].lower()) if len(parts) >= 3 else None
        class_name = parts[1] if split_name else parts[0]
        entries.append(Entry(path, class_name, split_name or "train", video_id=_stem(path)))
    classes = sorted({e.class_name for e in entries})
    if not entries:
        raise MotionlensError(f"{root}: no videos found in class folders (expected ROOT/<class>/<video>)")
    return Parsed("folder", entries, classes)


def parse_hmdb51(root: Path, split: int = 1, annotations=None) -> Parsed:
    """HMDB51: <class>/*.avi plus <class>_test_split{1,2,3}.txt with `name.avi 1|2|0` lines."""
    files = [f for f in _find_files(root, annotations, f"*_test_split{split}.txt")]
    if not files:
        raise MotionlensError(f"{annotations or root}: no HMDB51 split files '*_test_split{split}.txt' found "
                              "(pass --annotations DIR)")
    disk = DiskVideos(root)
    split_of = {"1": "train", "2": "test", "0": "unused"}
    entries, report, used = [], SplitReport(), set()
    class_files = sorted((f.name[: -len(f"_test_split{split}.txt")], f) for f in files)
    classes = [name for name, _ in class_files]
    for class_name, f in class_files:
        for line_no, line in _numbered_lines(f):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in split_of:
                raise MotionlensError(f"{f}: malformed line '{line}' (expected 'name.avi 0|1|2')")
            try:
                safe_name(parts[0], "video name")
            except UnsafePathError as err:
                report.rejected.append(f"{f}:{line_no}: {err}")
                continue
            path = disk.find(parts[0], class_name)
            if path is None:
                report.listed_missing.append(f"{class_name}/{parts[0]}")
                continue
            used.add(path)
            entries.append(Entry(path, class_name, split_of[parts[1]], video_id=_stem(parts[0])))
    report.unlisted = sorted(_rel(p, root) for p in disk.paths if p not in used)
    return Parsed("hmdb51", entries, classes, report)


def parse_ucf101(root: Path, split: int = 1, annotations=None) -> Parsed:
    """UCF101: classInd.txt, trainlist0N.txt (`Class/v_X.avi 1`), testlist0N.txt (`Class/v_X.avi`)."""
    found = {name: _find_files(root, annotations, name)
             for name in ("classInd.txt", f"trainlist0{split}.txt", f"testlist0{split}.txt")}
    for name, paths in found.items():
        if not paths:
            raise MotionlensError(f"{annotations or root}: UCF101 file '{name}' not found (pass --annotations DIR)")
    classes = []
    for line in _read_lines(found["classInd.txt"][0]):
        number, _, name = line.partition(" ")
        if not number.isdigit() or not name:
            raise MotionlensError(f"{found['classInd.txt'][0]}: malformed line '{line}' (expected '1 ClassName')")
        classes.append(name.strip())
    by_lower = {c.lower(): c for c in classes}
    disk = DiskVideos(root)
    entries, report, used = [], SplitReport(), set()
    for name, split_name in ((f"trainlist0{split}.txt", "train"), (f"testlist0{split}.txt", "test")):
        for line_no, line in _numbered_lines(found[name][0]):
            try:
                rel = safe_relpath(line.split()[0], "video path")
            except UnsafePathError as err:
                report.rejected.append(f"{found[name][0]}:{line_no}: {err}")
                continue
            folder = rel.split("/")[0] if "/" in rel else re.sub(r"^v_|_g\d+_c\d+.*$", "", rel)
            class_name = by_lower.get(folder.lower())
            if class_name is None:
                raise MotionlensError(f"{found[name][0]}: class '{folder}' of '{rel}' is not in classInd.txt")
            path = disk.find(rel, class_name)
            if path is None:
                report.listed_missing.append(rel)
                continue
            used.add(path)
            entries.append(Entry(path, class_name, split_name, video_id=_stem(rel)))
    report.unlisted = sorted(_rel(p, root) for p in disk.paths if p not in used)
    return Parsed("ucf101", entries, classes, report)


def parse_kinetics(root: Path, split: int = 1, annotations=None) -> Parsed:
    """Kinetics: {train,validate,test}.csv (`label,youtube_id,time_start,time_end,split`, see
    `kinetics.py`) and videos `<youtube_id>_<start:06d>_<end:06d>.mp4`, under <split>/<label>/ or flat."""
    csvs = [p for p in _find_files(root, annotations, "*.csv") if is_kinetics_csv(p)]
    if not csvs:
        raise MotionlensError(f"{annotations or root}: no Kinetics CSV (label,youtube_id,time_start,time_end,split) found")
    disk = DiskVideos(root)
    entries, report, used, labels = [], SplitReport(), set(), set()
    for csv_path in csvs:
        for row in read_kinetics_csv(csv_path):
            try:
                stem = kinetics_name(row.youtube_id, row.start, row.end)
                if row.label:
                    safe_name(row.label, "label")
            except UnsafePathError as err:
                report.rejected.append(f"{row.where}: {err}")
                continue
            if row.label:  # every listed class counts, downloaded or not: indices must not shift
                labels.add(row.label)
            path = disk.find(stem, row.label)
            if path is None:
                report.listed_missing.append(stem)
                continue
            used.add(path)
            entries.append(Entry(path, row.label, row.split, video_id=stem))
    classes = kinetics_classes(labels)
    report.unlisted = sorted(_rel(p, root) for p in disk.paths if p not in used)
    return Parsed("kinetics", entries, classes, report)


def parse_list(root: Path, split: int = 1, annotations=None) -> Parsed:
    """`path label` per line (MMAction2 / PyTorchVideo); root is a list file or a folder holding
    train/val/test list files. Paths are relative to the list file's folder and must stay below
    it: absolute paths and `..` are listed in the report's `rejected` and skipped."""
    base = Path(annotations) if annotations else root
    if base.is_file():
        lists = [base]
    else:
        lists = sorted(p for p in base.glob("*.txt") if split_from_name(p.stem))
    if not lists:
        raise MotionlensError(f"{base}: no list files (train.txt / val.txt / test.txt with 'path label' lines)")
    entries, report, labels = [], SplitReport(), {}
    for list_file in lists:
        split_name = split_from_name(list_file.stem) or "train"
        for line_no, line in _numbered_lines(list_file):
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                raise MotionlensError(f"{list_file}: malformed line '{line}' (expected 'path label')")
            rel, label = parts[0], int(parts[1])
            try:  # a list must not reach outside its own folder
                path = join_inside(list_file.parent, rel)
            except UnsafePathError as err:
                report.rejected.append(f"{list_file}:{line_no}: {err}")
                continue
            if not path.exists():
                report.listed_missing.append(rel)
                continue
            labels.setdefault(label, set()).add(path.parent.name)
            entries.append(Entry(str(path), str(label), split_name, video_id=_stem(rel)))
    # Name a class after its folder when all its videos share one, else after its number.
    names = {label: (next(iter(parents)) if len(parents) == 1 else str(label)) for label, parents in labels.items()}
    if len(set(names.values())) != len(names):
        names = {label: str(label) for label in labels}
    classes = [names[label] for label in sorted(labels)]
    if sorted(labels) != list(range(len(labels))):
        raise MotionlensError(f"{base}: list labels must be 0..N-1, got {sorted(labels)[:10]}")
    entries = [Entry(e.path, names[int(e.class_name)], e.split, video_id=e.video_id) for e in entries]
    return Parsed("list", entries, classes, report)
