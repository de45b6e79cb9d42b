"""Names and paths that come from files (CSV, JSON, list and split files) stay inside their folders.

AVA and Kinetics CSVs, list files and annotation JSONs are downloaded from the internet; an id
such as `../../etc/x`, `/tmp/x`, `sub/x` or one with a NUL byte must never make motionlens read
or write outside the roots the user gave. Every such name goes through `safe_name` (one path
component: an id, a label, an output file name) or `safe_relpath` (a relative path below a root,
as list files hold), and `join_inside` joins it to its root. Each raises `UnsafePathError`; callers
that read many rows catch it, list the row with its line number and skip it.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .errors import MotionlensError

NAME_MAX = 255  # bytes in one path component on Linux, macOS and Windows file systems


class UnsafePathError(MotionlensError):
    """A name or path from a file that would leave its folder, or that no file system accepts."""


def safe_name(text: str, what: str = "name") -> str:
    """`text` if it is usable as one file or folder name, else UnsafePathError.

    Refused: empty, `.` and `..`, separators (`/`, `\\`), NUL and other control characters, a
    Windows drive (`C:`), and more than NAME_MAX bytes in UTF-8."""
    if not isinstance(text, str) or not text:
        raise UnsafePathError(f"empty {what}")
    shown = repr(text if len(text) <= 60 else text[:57] + "...")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise UnsafePathError(f"{what} {shown} holds a NUL or control character")
    if "/" in text or "\\" in text:
        raise UnsafePathError(f"{what} {shown} holds a path separator; it must be a plain name")
    if text in (".", "..") or text.strip() in (".", ".."):
        raise UnsafePathError(f"{what} {shown} names a parent or current folder")
    if len(text) >= 2 and text[1] == ":" and text[0].isalpha():
        raise UnsafePathError(f"{what} {shown} starts with a drive letter")
    if len(text.encode("utf-8", "surrogateescape")) > NAME_MAX:
        raise UnsafePathError(f"{what} {shown} is longer than {NAME_MAX} bytes")
    return text


def safe_relpath(text: str, what: str = "path") -> str:
    """`text` (`/` or `\\` separated) if it is a relative path that stays below its root; returned
    with `/` separators and without `.` components. Each component must pass `safe_name`."""
    if not isinstance(text, str) or not text:
        raise UnsafePathError(f"empty {what}")
    unified = text.replace("\\", "/")
    shown = repr(text if len(text) <= 60 else text[:57] + "...")
    if unified.startswith("/") or (len(unified) >= 2 and unified[1] == ":" and unified[0].isalpha()):
        raise UnsafePathError(f"{what} {shown} is absolute; paths in lists must be relative to the list's folder")
    parts = [p for p in PurePosixPath(unified).parts if p != "."]
    if not parts:
        raise UnsafePathError(f"{what} {shown} names no file")
    if ".." in parts:
        raise UnsafePathError(f"{what} {shown} climbs out of its folder with '..'")
    for part in parts:
        safe_name(part, what=f"{what} component")
    return "/".join(parts)


def join_inside(root: str | os.PathLike, *names: str) -> Path:
    """`root/names...` after checking each piece with `safe_relpath`. The check is on the text:
    symbolic links that the user placed under `root` are followed as they are (a dataset folder
    linked from another disk is normal); only what a file says is distrusted."""
    return Path(root).joinpath(*(safe_relpath(n) for n in names))
