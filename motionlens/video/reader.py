"""Exact random access: the frames a clip wants, by number, from a video file or a frame folder.

Reads seek to the start point at or before the first wanted frame and decode forward,
identifying every frame by its timestamp in the file's `FrameTable`; a read that cannot be
proven exact falls back to decoding from the start, and says so once per file.

Damaged data: a packet the decoder rejects is skipped and decoding goes on. A wanted frame that
never comes out is damaged; it is filled with the nearest decoded frame of the same read and
counted (`read_clip` returns which), so the rest of the video keeps its frame numbers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import av
import cv2
import numpy as np

from ..core.errors import VideoError
from .container import legacy_rotation, open_video
from .frame_dir import frame_folder
from .frame_table import FrameTable, decode_packets, frame_table
from .frames import Clip, Size, check_range, converter, set_threads, warn_once


@dataclass
class ReadStats:
    """What reads cost, summed over the reads it is passed to (`read_clip(..., stats=)`)."""

    decoded: int = 0  # frames the decoder output, wanted or not
    seeks: int = 0  # decodes started (a seek, then decoding forward)


def read_clip(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
              rotate: bool = True, stats: ReadStats | None = None) -> Clip:
    """Frames `indices` of a video file or frame folder, in the order asked, and which are damaged.

    Indices may repeat and be unsorted. `size` is a short side (int) or exact (H, W) of the
    upright picture; frames are resized while decoding. `clamp=True` reads indices past the end
    as the last frame. `stats`, when given, is added what the read decoded. Raises VideoError
    naming the file for an unreadable file, an index out of range, or a read where no wanted
    frame decodes."""
    path = Path(path)
    indices = [int(i) for i in indices]
    folder = frame_folder(path)
    if folder is not None:
        return folder.read(indices, size, clamp)
    table = frame_table(path)
    if clamp:
        indices = [min(i, len(table) - 1) for i in indices]
    wanted = sorted(set(indices))
    if not wanted:
        return Clip(np.zeros((0, 0, 0, 3), dtype=np.uint8), np.zeros(0, dtype=bool))
    check_range(path, wanted, len(table))
    decoded = _read_video(path, table, wanted, size, rotate, stats or ReadStats())
    missing = [i for i in wanted if i not in decoded]
    if len(missing) == len(wanted):
        raise VideoError(path, f"frames {wanted[0]}-{wanted[-1]} could not be decoded (corrupt or truncated)")
    if missing:
        have = np.asarray(sorted(decoded.kept))
        for i in missing:  # the nearest decoded frame, earlier first, as a player freezes
            before = have[have < i]
            decoded.copy(int(before[-1]) if len(before) else int(have[have > i][0]), i)
    damaged = set(missing) | decoded.corrupt
    return Clip(decoded.stack(indices), np.asarray([i in damaged for i in indices], dtype=bool))


def read_frames(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
                rotate: bool = True) -> np.ndarray:
    """Frames `indices` of a video file or frame folder as uint8 `(T, H, W, C)`, in the order asked.

    As `read_clip`; damaged frames hold the nearest decoded frame and are logged once per file."""
    clip = read_clip(path, indices, size=size, clamp=clamp, rotate=rotate)
    if clip.damaged.any():
        warn_once(path, "damaged frames (corrupt data): each holds the nearest decoded frame")
    return clip.frames


def _read_video(path: Path, table: FrameTable, wanted: list[int], size: Size, rotate: bool,
                stats: ReadStats) -> _Frames:
    """Decoded frames by number; frames that cannot be decoded are absent."""
    with open_video(path) as (container, stream):
        set_threads(stream)
        convert = converter(size, legacy_rotation(stream) if rotate else 0, rotate)
        out = _Frames(wanted, stats)
        try:
            if table.exact:
                _read_seeking(container, stream, table, wanted, convert, out)
            missing = [i for i in wanted if i not in out]
            if missing:  # damage, or a seek that missed: decode on through it, keeping what comes out
                errors = _read_forward(container, stream, table, missing, convert, out)
                missing = [i for i in missing if i not in out]
                if missing and not errors and table.exact and table.seek_first[table.seek_point(missing[0])]:
                    warn_once(path, "a seek did not give the expected frames; reading from the start")
                    _read_forward(container, stream, table, missing, convert, out, from_start=True)
        except av.error.FFmpegError as err:
            raise VideoError(path, f"decoding failed (corrupt or truncated): {err}") from None
        return out


class _Frames:
    """The wanted frames, by number, converted straight into one (len(wanted), H, W, C) array:
    no per-frame arrays to stack (each a fresh allocation, whose page faults cost as much as the
    conversion on large frames). A frame of another size (damage, a spliced file) is kept apart.
    `corrupt`: numbers of the frames the decoder flagged corrupt (concealed)."""

    def __init__(self, wanted: list[int], stats: ReadStats):
        self.slot = {index: k for k, index in enumerate(wanted)}
        self.buffer: np.ndarray | None = None
        self.odd: dict[int, np.ndarray] = {}  # frames whose size differs from the buffer's
        self.kept: set[int] = set()
        self.corrupt: set[int] = set()
        self.stats = stats

    def __contains__(self, index: int) -> bool:
        return index in self.kept

    def frames(self, frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        """`frames`, counted into the stats as they come out of the decoder."""
        for frame in frames:
            self.stats.decoded += 1
            yield frame

    def keep(self, index: int, frame: av.VideoFrame, convert) -> None:
        slot = self.buffer[self.slot[index]] if self.buffer is not None else None
        image = convert(frame, slot)
        if self.buffer is None:
            self.buffer = np.empty((len(self.slot),) + image.shape, dtype=np.uint8)
            self.buffer[self.slot[index]] = image
        elif image is not slot:
            self.odd[index] = image
        self.kept.add(index)
        if frame.is_corrupt:
            self.corrupt.add(index)

    def copy(self, source: int, index: int) -> None:
        """Fill frame `index` (never decoded) with frame `source`."""
        if source in self.odd:
            self.odd[index] = self.odd[source]
        else:
            self.buffer[self.slot[index]] = self.buffer[self.slot[source]]

    def stack(self, indices: list[int]) -> np.ndarray:
        """(T, H, W, C) of `indices`; a stream whose size changes midway is resized to the first one's."""
        if not self.odd:
            order = [self.slot[i] for i in indices]
            return self.buffer if order == list(range(len(self.slot))) else self.buffer[order]
        images = [self.odd[i] if i in self.odd else self.buffer[self.slot[i]] for i in indices]
        height, width = images[0].shape[:2]
        return np.stack([im if im.shape[:2] == (height, width) else
                         cv2.resize(im, (width, height), interpolation=cv2.INTER_LINEAR) for im in images])


def _read_seeking(container, stream, table: FrameTable, wanted: list[int], convert, out: _Frames) -> None:
    """Seek to the start point before each run of wanted frames and decode forward. A frame is
    kept only when every frame from the start point up to it came out in order, undamaged."""
    wanted_set = set(wanted)
    frames, expected, errors, skip_below = None, -1, [0], [0]  # `expected`: next frame number due
    for target in wanted:
        if target < expected:
            continue  # passed without coming out: left to the tolerant pass
        point = table.seek_point(target)
        if frames is None or expected < 0 or table.seek_first[point] > expected:
            container.seek(int(table.seek_pts[point]), stream=stream, backward=True, any_frame=False)
            errors[0] = 0
            out.stats.seeks += 1
            frames = out.frames(decode_packets(container, stream, errors, table,
                                               skip_below if table.skippable else None))
        # Frames before `target` are not wanted: unreferenced ones are skipped, none is checked.
        # Every frame from `target` on must come out, in order, undamaged.
        skip_below[0] = expected = target
        for frame in frames:
            index = table.index_of(frame.pts)
            if index is None or index < expected:
                continue  # skipped or unwanted, a leading frame of an open GOP, or one before the start point
            if index > expected or errors[0] or frame.is_corrupt:
                expected = -1  # something before `index` did not come out: trust nothing more
                break
            expected = index + 1
            if index in wanted_set:
                out.keep(index, frame, convert)
            if index >= target:
                break
        else:
            return  # end of stream


def _read_forward(container, stream, table: FrameTable, wanted: list[int], convert, out: _Frames,
                  from_start: bool = False) -> int:
    """Decode from the start point before the first wanted frame (or the start) to the last one,
    through damage, keeping every wanted frame that comes out; frames are numbered by their
    timestamps, or by output order when they have none. Returns the decode errors met."""
    point = 0 if from_start or not table.exact else table.seek_point(wanted[0])
    container.seek(int(table.seek_pts[point]), stream=stream, backward=True, any_frame=False)
    wanted_set, last, errors = set(wanted), wanted[-1], [0]
    first = int(table.seek_first[point]) if table.exact else 0
    out.stats.seeks += 1
    for count, frame in enumerate(out.frames(decode_packets(container, stream, errors))):
        index = table.index_of(frame.pts) if table.exact else count
        if index is None or index < first:
            continue
        if index in wanted_set and index not in out:
            out.keep(index, frame, convert)
        if index >= last:
            break
    return errors[0]
