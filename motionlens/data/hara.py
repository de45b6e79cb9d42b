"""The annotation JSON of Hara et al.'s 3D-ResNets-PyTorch (kenshohara/3D-ResNets-PyTorch).

Its `util_scripts/{ucf101,hmdb51,kinetics}_json.py` write

    {"labels": [class, ...],                       # label index = position
     "database": {"<video_id>": {"subset": "training" | "validation" | "testing",
                                 "annotations": {"label": "<class>", "segment": [1, n_frames + 1]}}}}

`segment` is in frames, 1-based, end exclusive (the frame files are `image_00001.jpg`, ...);
testing entries may carry no label. Its loader finds a video at `root/<label>/<video_id>` (a
frame folder, or `<video_id>.hdf5`), and `root/test/<video_id>` when there is no label. Older
versions of its loaders read the frame count from a file `n_frames` in each frame folder instead.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from ..errors import MotionlensError, VideoError
from ..paths import UnsafePathError, safe_name
from ..video import probe
from ..video.frame_dir import list_frames
from .index import Entry, SplitReport, VideoIndex, VideoRecord
from .layouts import SPLIT_DIRS, DiskVideos, Parsed

SUBSETS = {"train": "training", "val": "validation", "test": "testing"}


def read_n_frames(video_dir: str | os.PathLike) -> int | None:
    """The number in a frame folder's `n_frames` file, or None when it has none (or it is not a number)."""
    try:
        return int(Path(video_dir, "n_frames").read_text().strip())
    except (OSError, ValueError):
        return None


def hara_n_frames(record: VideoRecord) -> int:
    """A record's frame count: a frame folder's `n_frames` file when present, else its image count;
    for a video file, the probed count."""
    if Path(record.path).is_dir():
        stored = read_n_frames(record.path)
        return stored if stored is not None else len(list_frames(record.path))
    return record.num_frames


def write_n_frames(index: VideoIndex) -> int:
    """Write `n_frames` (the image count) into every frame folder of `index`, as Hara's
    `n_frames_*.py` scripts do; returns how many files were written. Video files are left alone."""
    written = 0
    for record in index:
        if Path(record.path).is_dir():
            Path(record.path, "n_frames").write_text(str(len(list_frames(record.path))))
            written += 1
    return written


def _key(record: VideoRecord) -> str:
    path = Path(record.path)
    return path.name if path.is_dir() else path.stem


def write_hara_json(index: VideoIndex, path: str | os.PathLike, subsets: dict[str, str] | None = None) -> dict:
    """Write `index` as Hara's annotation JSON. Splits map train->training, val->validation,
    test->testing (`subsets` overrides, e.g. {"test": "validation"} as his UCF101/HMDB51 files
    have it); "unused" records are left out. Records of segments get their frame range.

    Returns {"path", "subsets": Counter, "left_out": unused records, "misplaced": paths Hara's
    loader will not find, i.e. not at `<index.root>/<label>/<video_id>`}."""
    mapping = {**SUBSETS, **(subsets or {})}
    database, counts, left_out, misplaced = {}, Counter(), 0, []
    root = Path(index.root) if index.root else None
    for record in index:
        subset = mapping.get(record.split)
        if subset is None:
            left_out += 1
            continue
        key = _key(record)
        if key in database:
            raise MotionlensError(f"two videos are named '{key}' ({database[key]['_path']} and {record.path}); "
                                  "Hara's format names each video once")
        n_frames = hara_n_frames(record)
        first = record.first_frame if record.start is not None else 0
        stop = record.last_frame + 1 if record.end is not None else n_frames
        annotations = {"label": record.class_name} if record.label >= 0 else {}
        annotations["segment"] = [first + 1, stop + 1]
        database[key] = {"subset": subset, "annotations": annotations, "_path": record.path}
        counts[subset] += 1
        folder = record.class_name if record.label >= 0 else "test"
        if root is not None and root.is_dir() and Path(record.path).parent != root / folder:
            misplaced.append(record.path)
    for value in database.values():
        del value["_path"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"labels": list(index.classes), "database": database}))
    return {"path": path, "subsets": counts, "left_out": left_out, "misplaced": misplaced}


def _find_json(root: Path, annotations) -> Path:
    if annotations is not None:
        base = Path(annotations)
        if base.is_file():
            return base
        if not base.is_dir():
            raise MotionlensError(f"annotation file not found: {base}")
        folders = [base]
    else:
        folders = [root, root.parent]
    for folder in folders:
        found = [p for p in sorted(folder.glob("*.json")) if _looks_like_hara(p)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise MotionlensError(f"{folder}: several annotation JSONs ({', '.join(p.name for p in found)}); "
                                  "pick one with --annotations FILE")
    raise MotionlensError(f"{annotations or root}: no Hara annotation JSON (with 'labels' and 'database') found; "
                          "pass --annotations FILE")


def _looks_like_hara(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as f:
        return '"database"' in f.read(1 << 16)


def parse_hara_json(root: str | os.PathLike, annotations: str | os.PathLike | None = None) -> Parsed:
    """Entries of a dataset described by Hara's JSON. `root` holds `<label>/<video_id>` (frame folders
    or video files, any extension); when `root` is the JSON itself, videos are looked up beside it.
    `annotations` is the JSON (or a folder holding one); by default it is found in root or its parent.

    A segment starting at frame 1 is read as the whole video (Hara's tools always write
    [1, n_frames + 1]); a later start becomes a segment in seconds, at the video's probed rate."""
    root = Path(root)
    if root.is_file():
        annotations, root = annotations or root, root.parent
    json_path = _find_json(root, annotations)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MotionlensError(f"{json_path}: not readable JSON ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise MotionlensError(f"{json_path}: not a Hara annotation JSON (expected 'labels' and 'database')")
    labels = data.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise MotionlensError(f"{json_path}: 'labels' must be a list of class names")

    disk = DiskVideos(root)
    entries, report, used, seen_labels = [], SplitReport(), set(), []
    for key, value in data["database"].items():
        where = f"{json_path}: video {key[:60]!r}"
        subset = value.get("subset") if isinstance(value, dict) else None
        split = SPLIT_DIRS.get(str(subset).lower())
        if split is None:
            raise MotionlensError(f"{where}: subset {subset!r} is not training, validation or testing")
        annotation = value.get("annotations") or {}
        if not isinstance(annotation, dict):
            raise MotionlensError(f"{where}: 'annotations' must be an object with 'label' and 'segment' "
                                  "(ActivityNet-style lists of segments are not supported)")
        label = annotation.get("label")
        if label is not None and labels is not None and label not in labels:
            raise MotionlensError(f"{where}: label '{label}' is not in 'labels'")
        try:  # Hara's loader joins root/<label>/<video_id>: both must be plain names
            safe_name(key, "video_id")
            if label is not None:
                safe_name(str(label), "label")
        except UnsafePathError as err:
            report.rejected.append(f"{where}: {err}")
            continue
        if label is not None and label not in seen_labels:
            seen_labels.append(label)
        path = disk.find(key, label or "test")
        if path is None:
            report.listed_missing.append(f"{label or 'test'}/{key}")
            continue
        used.add(path)
        start, end = _segment_seconds(annotation.get("segment"), path, where)
        entries.append(Entry(path, label or "", split, start=start, end=end, video_id=key))
    report.unlisted = sorted(os.path.relpath(p, root) for p in disk.paths if p not in used)
    classes = list(labels) if labels is not None else sorted(seen_labels)
    return Parsed("hara", entries, classes, report)


def _segment_seconds(segment, path: str, where: str) -> tuple[float | None, float | None]:
    if segment is None:
        return None, None
    if (not isinstance(segment, (list, tuple)) or len(segment) != 2
            or not all(isinstance(v, (int, float)) for v in segment) or not 1 <= segment[0] < segment[1]):
        raise MotionlensError(f"{where}: segment {segment!r} is not [first, stop] frame numbers from 1")
    if segment[0] == 1:
        return None, None
    try:
        fps = probe(path).fps
    except VideoError:
        return None, None  # indexing probes it again and lists it as unreadable
    return (segment[0] - 1) / fps, (segment[1] - 1) / fps
