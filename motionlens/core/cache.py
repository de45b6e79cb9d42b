"""The one cache root: `$MOTIONLENS_CACHE`, else `~/.cache/motionlens`. Index probes, frame tables
and other derived data live in named folders below it; deleting any of them is always safe."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("MOTIONLENS_CACHE") or Path.home() / ".cache" / "motionlens")


def cache_dir(name: str) -> Path:
    """`cache_root() / name` (not created: writers make it when they first write)."""
    return cache_root() / name
