"""The OpenVINO export folder: what it holds and the one check that it is whole and of this format.

`model.xml`/`model.bin` (the IR, dynamic batch) and `export.json`, written last (so a folder
without it is incomplete): format and format version, motionlens version, precision, classes,
the input contract (the pipeline), the accuracy guard and the calibration (`deploy.export`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from pathlib import Path

from ..core.errors import MotionlensError

FORMAT = "motionlens-openvino"
FORMAT_VERSION = 1
META = "export.json"
IR_FILES = ("model.xml", "model.bin")


def motionlens_version() -> str:
    """The installed motionlens version, recorded in each export."""
    try:
        return importlib.metadata.version("motionlens")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def is_export_dir(path) -> bool:
    """Whether `path` is a folder that looks like an OpenVINO export (complete or not)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    path = Path(path)
    return path.is_dir() and any((path / name).exists() for name in (META, *IR_FILES))


def read_export(path: str | os.PathLike) -> dict:
    """The export.json record of an export folder, checked: one line when it is incomplete or of
    another format version."""
    path = Path(path)
    meta_path = path / META
    if not meta_path.is_file():
        raise MotionlensError(f"{path}: incomplete export (no {META}); export it again with `motionlens export`")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as err:
        raise MotionlensError(f"{meta_path}: unreadable ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise MotionlensError(f"{meta_path}: not a {FORMAT} export")
    if meta.get("format_version") != FORMAT_VERSION:
        raise MotionlensError(f"{meta_path}: export format version {meta.get('format_version')}, this motionlens "
                              f"reads version {FORMAT_VERSION}; export the model again")
    missing = [k for k in ("precision", "classes", "pipeline", "model") if k not in meta]
    missing += [name for name in IR_FILES if not (path / name).is_file()]
    if missing:
        raise MotionlensError(f"{path}: incomplete export (missing {', '.join(missing)}); export it again")
    return meta
