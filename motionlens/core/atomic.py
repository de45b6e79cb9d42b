"""Atomic file writes: readers see the old file or the whole new one, never half of one.

The data goes to a temporary file in the same folder (so the rename stays on one file system),
is optionally flushed to disk, then renamed over the target with `os.replace`; on any failure the
temporary file is removed and the target is left as it was."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def temp_path(path: Path, keep_suffix: bool = False) -> Path:
    """A hidden temporary name beside `path`, unique per process and thread. `keep_suffix` ends it
    with `path`'s suffix, for writers that choose a format by the file's extension (video muxers)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    return tmp.with_name(tmp.name + path.suffix) if keep_suffix else tmp


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def _replace_on_success(path: Path, tmp: Path, durable: bool) -> Iterator[Path]:
    """Rename `tmp` over `path` when the block ends cleanly; remove `tmp` whatever happens."""
    try:
        yield tmp
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", durable: bool = False,
                 encoding: str | None = None, newline: str | None = None) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces `path` atomically.
    `newline` is `open`'s (the csv module wants "").

    `durable`: fsync the file and its folder, so the new contents survive a power cut
    (checkpoints); without it the rename is still atomic for other processes."""
    path = Path(path)
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with _replace_on_success(path, temp_path(path), durable) as tmp:
        with open(tmp, mode, encoding=encoding, newline=newline) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())


@contextmanager
def atomic_path(path: str | os.PathLike, durable: bool = False) -> Iterator[Path]:
    """A temporary path beside `path` (with its suffix) for a writer that needs a file name, not a
    file object (a video muxer); on a clean exit the file written there replaces `path` atomically."""
    path = Path(path)
    with _replace_on_success(path, temp_path(path, keep_suffix=True), durable) as tmp:
        yield tmp
        if durable:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def write_text(path: str | os.PathLike, text: str, durable: bool = False) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_write(path, "w", durable=durable) as f:
        f.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes, durable: bool = False) -> Path:
    """Write `data` to `path` atomically."""
    with atomic_write(path, "wb", durable=durable) as f:
        f.write(data)
    return Path(path)
