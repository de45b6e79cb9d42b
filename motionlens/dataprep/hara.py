"""Writing the annotation JSON of Hara et al.'s 3D-ResNets-PyTorch, and its `n_frames` files.

The format is described in `motionlens.data.hara_json`, which reads it back."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

from ..data.records import VideoIndex, VideoRecord
from ..core.errors import MotionlensError
from ..video import frame_folder

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
    folder = frame_folder(record.path)
    if folder is not None:
        stored = read_n_frames(record.path)
        return stored if stored is not None else len(folder)
    return record.num_frames


def write_n_frames(index: VideoIndex) -> int:
    """Write `n_frames` (the image count) into every frame folder of `index`, as Hara's
    `n_frames_*.py` scripts do; returns how many files were written. Video files are left alone."""
    written = 0
    for record in index:
        folder = frame_folder(record.path)
        if folder is not None:
            Path(record.path, "n_frames").write_text(str(len(folder)))
            written += 1
    return written


def _key(record: VideoRecord) -> str:
    path = Path(record.path)
    return path.name if frame_folder(path) is not None else path.stem


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


