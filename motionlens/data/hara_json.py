"""Reading the annotation JSON of Hara et al.'s 3D-ResNets-PyTorch (kenshohara/3D-ResNets-PyTorch).

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
from pathlib import Path

from ..core.errors import MotionlensError, VideoError
from ..core.paths import UnsafePathError, safe_name
from ..video import probe
from .layouts import DiskVideos
from .records import SPLIT_DIRS, Entry, Parsed, SplitReport


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
