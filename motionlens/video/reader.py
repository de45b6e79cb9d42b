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
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

from ..core.errors import VideoError
from .container import legacy_rotation, open_video
from .frame_dir import frame_folder
from .frame_table import FrameTable, decode_packets, frame_table
from .frames import Clip, Size, check_range, converter, set_threads, warn_once


def read_clip(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
              rotate: bool = True) -> Clip:
    """Frames `indices` of a video file or frame folder, in the order asked, and which are damaged.

    Indices may repeat and be unsorted. `size` is a short side (int) or exact (H, W) of the
    upright picture; frames are resized while decoding. `clamp=True` reads indices past the end
    as the last frame. Raises VideoError naming the file for an unreadable file, an index out
    of range, or a read where no wanted frame decodes."""
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
    decoded = _read_video(path, table, wanted, size, rotate)
    missing = [i for i in wanted if i not in decoded]
    if len(missing) == len(wanted):
        raise VideoError(path, f"frames {wanted[0]}-{wanted[-1]} could not be decoded (corrupt or truncated)")
    if missing:
        have = np.asarray(sorted(decoded))
        for i in missing:  # the nearest decoded frame, earlier first, as a player freezes
            before = have[have < i]
            decoded[i] = decoded[int(before[-1]) if len(before) else int(have[have > i][0])]
    damaged = set(missing) | decoded.corrupt
    return Clip(_stack([decoded[i] for i in indices]), np.asarray([i in damaged for i in indices], dtype=bool))


def _stack(images: list[np.ndarray]) -> np.ndarray:
    """(T, H, W, C); a stream whose size changes midway (damage, or a spliced file) is resized to its first frame."""
    height, width = images[0].shape[:2]
    return np.stack([im if im.shape[:2] == (height, width) else
                     cv2.resize(im, (width, height), interpolation=cv2.INTER_LINEAR) for im in images])


def read_frames(path: str | os.PathLike, indices: Sequence[int], size: Size = None, clamp: bool = False,
                rotate: bool = True) -> np.ndarray:
    """Frames `indices` of a video file or frame folder as uint8 `(T, H, W, C)`, in the order asked.

    As `read_clip`; damaged frames hold the nearest decoded frame and are logged once per file."""
    clip = read_clip(path, indices, size=size, clamp=clamp, rotate=rotate)
    if clip.damaged.any():
        warn_once(path, "damaged frames (corrupt data): each holds the nearest decoded frame")
    return clip.frames


def _read_video(path: Path, table: FrameTable, wanted: list[int], size: Size, rotate: bool) -> _Frames:
    """Decoded frames by number; frames that cannot be decoded are absent."""
    with open_video(path) as (container, stream):
        set_threads(stream)
        convert = converter(size, legacy_rotation(stream) if rotate else 0, rotate)
        out = _Frames()
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


class _Frames(dict):
    """Decoded frames by number, and the numbers of those the decoder flagged corrupt (concealed)."""

    def __init__(self):
        super().__init__()
        self.corrupt: set[int] = set()

    def keep(self, index: int, frame: av.VideoFrame, convert) -> None:
        self[index] = convert(frame)
        if frame.is_corrupt:
            self.corrupt.add(index)


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
            frames = decode_packets(container, stream, errors, table, skip_below if table.skippable else None)
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
    for count, frame in enumerate(decode_packets(container, stream, errors)):
        index = table.index_of(frame.pts) if table.exact else count
        if index is None or index < first:
            continue
        if index in wanted_set and index not in out:
            out.keep(index, frame, convert)
        if index >= last:
            break
    return errors[0]
