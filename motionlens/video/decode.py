"""Exact random-access frame reading and a bounded-memory streaming decoder.

Contract: frames come back as uint8 RGB arrays, `(T, H, W, C)` for a clip.

Frame numbers are positions in presentation order. They are mapped to timestamps with a table
built by demuxing the file once (packets only, no decoding) and cached per file, so a read seeks
to the keyframe at or before the first wanted frame and decodes forward only as far as needed.
That gives the same pixels as a full sequential decode, B-frames and non-zero start times included.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import av
import cv2
import numpy as np

from ..errors import VideoError
from . import frame_dir
from .probe import check_file, open_video

Size = int | tuple[int, int] | None  # int: short side; (H, W): exact; None: as stored


def output_size(height: int, width: int, size: Size) -> tuple[int, int] | None:
    """(H, W) a frame of `height` x `width` is resized to, or None to keep it."""
    if size is None:
        return None
    if isinstance(size, int):  # short side; the long side is truncated, as torchvision's Resize does
        if height <= width:
            return size, int(size * width / height)
        return int(size * height / width), size
    return (int(size[0]), int(size[1]))


def frame_to_array(frame: av.VideoFrame, size: Size = None) -> np.ndarray:
    """An av.VideoFrame as uint8 RGB (H, W, 3), resized bilinearly by swscale while converting."""
    target = output_size(frame.height, frame.width, size)
    if target is None:
        return frame.to_ndarray(format="rgb24")
    return frame.to_ndarray(format="rgb24", height=target[0], width=target[1], interpolation="BILINEAR")


@dataclass(frozen=True)
class FrameTable:
    """Presentation timestamps of every frame, in order, and which frames are keyframes."""

    pts: np.ndarray  # (N,) int64, sorted
    keyframes: np.ndarray  # (K,) frame numbers of keyframes, sorted

    def index_of(self, pts: int | None) -> int | None:
        """Frame number of a timestamp, or None when no frame has it."""
        if pts is None:
            return None
        i = int(np.searchsorted(self.pts, pts))
        return i if i < len(self.pts) and self.pts[i] == pts else None

    def keyframe_before(self, index: int) -> int:
        k = int(np.searchsorted(self.keyframes, index, side="right")) - 1
        return int(self.keyframes[max(k, 0)]) if len(self.keyframes) else 0


_TABLES: OrderedDict[tuple, FrameTable | None] = OrderedDict()
_TABLES_MAX = 1024


def _frame_table(path: Path, container, stream) -> FrameTable | None:
    """The file's FrameTable (None when packets carry no timestamps), cached by path/size/mtime."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _TABLES:
        _TABLES.move_to_end(key)
        return _TABLES[key]
    pts, is_key = [], []
    for packet in container.demux(stream):
        if packet.size == 0:
            continue  # the demuxer's end-of-stream flush packet
        if packet.pts is None:
            pts = None
            break
        pts.append(packet.pts)
        is_key.append(packet.is_keyframe)
    table = None
    if pts:
        order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
        sorted_pts = np.asarray(pts, dtype=np.int64)[order]
        keyframes = np.flatnonzero(np.asarray(is_key, dtype=bool)[order])
        if len(np.unique(sorted_pts)) == len(sorted_pts):
            table = FrameTable(sorted_pts, keyframes if len(keyframes) else np.zeros(1, dtype=np.int64))
    _TABLES[key] = table
    if len(_TABLES) > _TABLES_MAX:
        _TABLES.popitem(last=False)
    return table


def count_frames(path: str | os.PathLike) -> int:
    """Exact number of frames, by demuxing (no decoding). Slower than `probe`, exact where it estimates."""
    path = Path(path)
    if path.is_dir():
        return len(frame_dir.list_frames(path))
    with open_video(path) as (container, stream):
        table = _frame_table(path, container, stream)
        if table is not None:
            return len(table.pts)
        container.seek(0)
        return sum(1 for _ in container.decode(stream))


def frame_times(path: str | os.PathLike) -> np.ndarray:
    """`(N,)` float64 display times in seconds of every frame, in display order, from the stream start.

    Frame folders store no times: 25 fps is assumed, as `iter_frames` does."""
    path = Path(path)
    if path.is_dir():
        return np.arange(len(frame_dir.list_frames(path)), dtype=np.float64) / 25.0
    with open_video(check_file(path)) as (container, stream):
        table = _frame_table(path, container, stream)
        if table is None or stream.time_base is None:
            rate = float(stream.average_rate or 25.0)
            container.seek(0)
            return np.arange(sum(1 for _ in container.decode(stream)), dtype=np.float64) / rate
        start = stream.start_time if stream.start_time is not None else int(table.pts[0])
        return (table.pts - start).astype(np.float64) * float(stream.time_base)


def read_frames(path: str | os.PathLike, indices: Sequence[int], size: Size = None,
                clamp: bool = False) -> np.ndarray:
    """Frames `indices` of a video file or frame folder as uint8 `(T, H, W, C)`, in the order asked.

    Indices may repeat and be unsorted. `size` is a short side (int) or exact (H, W); frames are
    resized while decoding. `clamp=True` reads indices past the end as the last frame, for frame
    counts that `probe` could only estimate (WebM, MKV). Raises VideoError naming the file for
    anything unreadable."""
    path = Path(path)
    if clamp:
        last = count_frames(path) - 1
        indices = [min(int(i), last) for i in indices]
    wanted = sorted({int(i) for i in indices})
    if path.is_dir():
        files = frame_dir.list_frames(path)
        _check_range(path, wanted, len(files))
        decoded: dict[int, np.ndarray] = {}
        if wanted:  # the first image sets the output size for all
            first = frame_dir.read_image(files[wanted[0]])
            target = output_size(*first.shape[:2], size)
            decoded[wanted[0]] = first if target is None else cv2.resize(first, (target[1], target[0]),
                                                                          interpolation=cv2.INTER_LINEAR)
            decoded.update({i: frame_dir.read_image(files[i], target) for i in wanted[1:]})
    else:
        decoded = _read_video(check_file(path), wanted, size)
    if not wanted:
        return np.zeros((0, 0, 0, 3), dtype=np.uint8)
    return np.stack([decoded[int(i)] for i in indices])


def _check_range(path: Path, wanted: list[int], num_frames: int) -> None:
    if wanted and (wanted[0] < 0 or wanted[-1] >= num_frames):
        bad = wanted[0] if wanted[0] < 0 else wanted[-1]
        raise VideoError(path, f"frame {bad} is out of range (the video has {num_frames} frames)")


def _read_video(path: Path, wanted: list[int], size: Size) -> dict[int, np.ndarray]:
    with open_video(path) as (container, stream):
        stream.thread_type = "AUTO"
        try:
            table = _frame_table(path, container, stream)
            if table is None:
                return _read_sequential(path, container, stream, wanted, size)
            _check_range(path, wanted, len(table.pts))
            out = _read_seeking(container, stream, table, wanted, size)
            missing = [i for i in wanted if i not in out]
            if missing:  # a seek that overshot, or a damaged stretch: retry from the start
                out.update(_read_sequential(path, container, stream, missing, size))
            return out
        except av.error.FFmpegError as err:
            raise VideoError(path, f"decoding failed (corrupt or truncated): {err}") from None


def _read_seeking(container, stream, table: FrameTable, wanted: list[int], size: Size) -> dict[int, np.ndarray]:
    wanted_set = set(wanted)
    out: dict[int, np.ndarray] = {}
    frames, last = None, -1
    for target in wanted:
        if target <= last:
            continue  # already passed: either decoded or missing
        keyframe = table.keyframe_before(target)
        if frames is None or keyframe > last:
            container.seek(int(table.pts[keyframe]), stream=stream, backward=True, any_frame=False)
            frames, last = container.decode(stream), -1
        for frame in frames:
            index = table.index_of(frame.pts)
            if index is None:
                continue
            last = index
            if index in wanted_set and index not in out:
                out[index] = frame_to_array(frame, size)
            if index >= target:
                break
        else:
            break  # end of stream
    return out


def _read_sequential(path: Path, container, stream, wanted: list[int], size: Size) -> dict[int, np.ndarray]:
    """Decode from the start, numbering frames as they come out: slow, but needs no timestamps."""
    container.seek(0)
    wanted_set, out = set(wanted), {}
    last_wanted = max(wanted) if wanted else -1
    count = 0
    for count, frame in enumerate(container.decode(stream), start=1):
        index = count - 1
        if index in wanted_set:
            out[index] = frame_to_array(frame, size)
        if index >= last_wanted:
            break
    missing = [i for i in wanted if i not in out]
    if missing:
        raise VideoError(path, f"truncated or corrupt: frame {missing[0]} could not be decoded ({count} frames decodable)")
    return out


class Frame(NamedTuple):
    """One frame from `iter_frames`: its number, its time in seconds, uint8 RGB (H, W, 3)."""

    index: int
    time: float
    image: np.ndarray


def open_source(source: str | int | os.PathLike, timeout: float = 10.0):
    """Open a file, an RTSP/HTTP URL or a webcam index (int or "0") with PyAV; VideoError on failure."""
    source_str = str(source)
    options: dict[str, str] = {}
    fmt = None
    if isinstance(source, int) or source_str.isdigit():
        fmt, source_str = "v4l2", f"/dev/video{int(source_str)}"
    elif "://" in source_str:
        if source_str.startswith("rtsp"):
            options["rtsp_transport"] = "tcp"
        options["rw_timeout"] = str(int(timeout * 1e6))
    else:
        check_file(source_str)
    try:
        container = av.open(source_str, format=fmt, options=options, timeout=timeout)
    except av.error.InvalidDataError:
        raise VideoError(source_str, "not a video file (no known container format)") from None
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(source_str, f"cannot open: {getattr(err, 'strerror', None) or err}") from None
    if not container.streams.video:
        container.close()
        raise VideoError(source_str, "no video stream")
    return container


def iter_frames(source: str | int | os.PathLike, size: Size = None, step: int = 1) -> Iterator[Frame]:
    """Stream frames from a file, frame folder, URL or webcam with memory bounded by one frame.

    `step` keeps every step-th frame (indices stay those of the source)."""
    if not isinstance(source, int) and Path(str(source)).is_dir():
        files = frame_dir.list_frames(source)
        for index in range(0, len(files), step):
            yield Frame(index, index / 25.0, frame_dir.read_image(files[index], _dir_size(files[0], size)))
        return
    container = open_source(source)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    start = stream.start_time or 0
    try:
        for index, frame in enumerate(container.decode(stream)):
            if index % step:
                continue
            time = float((frame.pts - start) * stream.time_base) if frame.pts is not None else float("nan")
            yield Frame(index, time, frame_to_array(frame, size))
    except av.error.FFmpegError as err:
        raise VideoError(str(source), f"decoding failed (corrupt, truncated or dropped): {err}") from None
    finally:
        container.close()


def _dir_size(first_file: str, size: Size) -> tuple[int, int] | None:
    if size is None:
        return None
    first = frame_dir.read_image(first_file)
    return output_size(first.shape[0], first.shape[1], size)
