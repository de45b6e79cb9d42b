"""The frame table: one definition of a frame everywhere, built once per file and cached.

Frame k is the k-th frame a full sequential decode outputs, which is display order. A
`FrameTable` lists those frames with the timestamp each decoded frame carries, its time and the
places a decode can start from; readers (`reader`, `stream`, `cut`) identify frames by it.

How the table is built depends on whether the container's timestamps can be trusted:
- MP4/MOV, Matroska/WebM, MPEG-TS... store each frame's presentation time: the table comes from
  demuxing alone (no decoding). Packets an edit list hides are decoded but never shown, so they
  are not frames; they remain start points.
- AVI stores no presentation times. Without B-frames, decode order is display order and the
  packets' timestamps (their position in the file's time grid) are the frames'. With B-frames
  FFmpeg's guessed timestamps are not display order (XviD/DivX, packed or not), so the file is
  decoded once and the decoder's output order is recorded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..core.atomic import atomic_write
from ..core.cache import cache_dir
from ..core.errors import VideoError
from .container import check_file, frame_rate_varies, open_video, stream_header
from .frame_dir import frame_folder
from .frames import DecodeReport, set_threads, warn_once

# Formats whose packets carry the presentation time the encoder wrote (FFmpeg's format names).
TRUSTED_FORMATS = {"mov", "mp4", "matroska", "webm", "mpegts", "flv", "mpeg", "ogg", "asf", "ivf", "nut"}


@dataclass(frozen=True)
class FrameTable:
    """Every frame of a video file's first video stream, in display order.

    Frame k is the k-th frame a full sequential decode outputs. `pts[k]` is the timestamp that
    decoded frame carries (the key reads identify frames by) and `times[k]` its time in seconds
    from frame 0. A decode that starts by seeking to `seek_pts[j]` outputs frames
    `seek_first[j]`, `seek_first[j] + 1`, ... exactly (leading frames with smaller numbers may come
    first and are dropped). `decode_pos[k]` is the position of frame k's packet in decode order
    and `keyframe[k]` says whether that packet starts a decode (stream copy needs both)."""

    pts: np.ndarray  # (N,) int64
    times: np.ndarray  # (N,) float64 seconds from frame 0
    decode_pos: np.ndarray  # (N,) int64
    keyframe: np.ndarray  # (N,) bool
    seek_pts: np.ndarray  # (K,) int64, stream time base
    seek_first: np.ndarray  # (K,) int64, ascending
    time_base: float
    fps: float  # nominal frame rate from the headers
    header_frames: int  # what the container claims (0: it does not say)
    header_duration: float  # seconds the container claims (0: it does not say)
    exact: bool  # False: frames carry no usable timestamps; only sequential decoding numbers them
    damaged: int = 0  # packets rejected while the table was built by decoding
    # one frame per packet, so a packet of an unwanted frame may be skipped; not so for AVIs with
    # packed B-frames (DivX/XviD put two frames in one chunk and an empty placeholder in the next)
    skippable: bool = False

    @cached_property
    def _numbers(self) -> dict[int, int]:
        # a dict, not a search in `pts`: reads look up every packet and frame (~60 per clip), and
        # numpy's call overhead per lookup was a tenth of a small clip's CPU
        return dict(zip(self.pts.tolist(), range(len(self.pts))))

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def vfr(self) -> bool:
        """True when frame intervals vary (beyond timestamp rounding)."""
        return frame_rate_varies(self.times)

    @property
    def ends_early(self) -> bool:
        """True when the frames stop well before the duration the container claims (truncation)."""
        if not len(self.times) or self.header_duration <= 0:
            return False
        step = 1.0 / self.fps if self.fps > 0 else 0.04
        end = float(self.times[-1]) + step
        return end < self.header_duration - max(3 * step, 0.002 * self.header_duration)

    @property
    def expected_frames(self) -> int:
        """Frames the container promised: its count, else duration x fps."""
        return self.header_frames or int(round(self.header_duration * self.fps))

    def problem(self) -> str | None:
        """One line naming a truncation or damage that demuxing (or the decoding pass) found, or None."""
        return DecodeReport(frames=len(self), expected=self.expected_frames, damaged=self.damaged,
                            num_frames=len(self) + self.damaged, ends_early=self.ends_early).problem()

    def index_of(self, pts: int | None) -> int | None:
        """Frame number of a decoded frame's timestamp, or None when no frame has it."""
        if pts is None or not self.exact:
            return None
        return self._numbers.get(pts)

    def seek_point(self, index: int) -> int:
        """Which start point (position in seek_pts) to use for frame `index`."""
        return max(int(np.searchsorted(self.seek_first, index, side="right")) - 1, 0)


_TABLES: OrderedDict[tuple, FrameTable] = OrderedDict()
_TABLES_MAX = 4096  # a table is a few KB; a whole HMDB51/UCF101 split fits
_TABLES_LOCK = threading.Lock()  # the index probes files from a thread pool


def frame_table(path: str | os.PathLike) -> FrameTable:
    """The FrameTable of a video file, cached by path, size and mtime. Raises VideoError.

    Tables are also kept on disk: DataLoader workers start afresh every epoch and each touches a
    video about once per epoch, so without it every training clip paid a demux of the whole file
    or, for an AVI with B-frames, a full decode of it (benchmarks/RESULTS.md)."""
    path = check_file(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _TABLES_LOCK:
        table = _TABLES.get(key)
        if table is not None:
            _TABLES.move_to_end(key)
            return table
    table = _load_table(key)
    if table is None:
        try:
            table = _build_table(path)
        except (av.error.FFmpegError, ValueError, OverflowError) as err:  # headers that parse, data that does not
            raise VideoError(path, f"unreadable (corrupt or truncated): {err}") from None
        _save_table(key, table)
    elif not table.exact:
        warn_once(path, NO_TIMESTAMPS)
    with _TABLES_LOCK:
        _TABLES[key] = table
        if len(_TABLES) > _TABLES_MAX:
            _TABLES.popitem(last=False)
    return table


def cached_table(path: Path) -> FrameTable | None:
    stat = path.stat()
    return _TABLES.get((str(path.resolve()), stat.st_size, stat.st_mtime_ns))


NO_TIMESTAMPS = "frames carry no usable timestamps: every read decodes from the start (slow but exact)"
_TABLE_ARRAYS = ("pts", "times", "decode_pos", "keyframe", "seek_pts", "seek_first")
_TABLE_SCALARS = ("time_base", "fps", "header_frames", "header_duration", "exact", "damaged", "skippable")


def _table_file(key: tuple) -> Path:
    # The decoder's version is part of the key: its output order is what the table records.
    digest = hashlib.sha1(f"v2:{key}:{av.library_versions.get('libavcodec')}".encode()).hexdigest()[:20]
    return cache_dir("frame_tables") / f"{digest}.table"


_MAGIC = 0x4C424154454D4152  # "RAMETABL": a file of ours, in this layout


def _load_table(key: tuple) -> FrameTable | None:
    """The table stored for `key` by `_save_table`, or None (absent or unreadable: rebuilt).

    Raw little-endian 8-byte words, not an .npz: a worker loads one per clip, and opening a
    zip of 13 members took as long as demuxing a 10 s AVI."""
    try:
        data = np.fromfile(_table_file(key), dtype="<i8")
        if len(data) < 3 + len(_TABLE_SCALARS) or data[0] != _MAGIC:
            return None
        n, k = int(data[1]), int(data[2])
        sizes = (n, n, n, n, k, k)  # _TABLE_ARRAYS
        if n < 1 or k < 1 or len(data) != 3 + sum(sizes) + len(_TABLE_SCALARS):
            return None
        values, at = {}, 3
        for name, size in zip(_TABLE_ARRAYS, sizes):
            values[name] = data[at:at + size]
            at += size
        values["times"] = values["times"].view("<f8")
        values["keyframe"] = values["keyframe"].astype(bool)
        scalars = data[at:].view("<f8").tolist()
        values.update(zip(_TABLE_SCALARS, scalars))
        for name in ("header_frames", "damaged"):
            values[name] = int(values[name])
        for name in ("exact", "skippable"):
            values[name] = bool(values[name])
        return FrameTable(**values)
    except (OSError, ValueError):
        return None


def _save_table(key: tuple, table: FrameTable) -> None:
    """Store `table` for `key`; a cache that cannot be written only costs the next process a rebuild."""
    file = _table_file(key)
    words = [np.asarray([_MAGIC, len(table.pts), len(table.seek_pts)], dtype="<i8")]
    words += [np.asarray(getattr(table, name)).astype("<f8" if name == "times" else "<i8").view("<i8")
              for name in _TABLE_ARRAYS]
    words.append(np.asarray([float(getattr(table, name)) for name in _TABLE_SCALARS], dtype="<f8").view("<i8"))
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(file) as f:  # workers reading it never see half a file
            f.write(np.concatenate(words).tobytes())
    except OSError:
        pass


def _build_table(path: Path) -> FrameTable:
    with open_video(path) as (container, stream):
        fps, header_frames, header_duration, time_base = stream_header(container, stream)
        packets = []  # (pts, dts, keyframe, discard) in decode order
        try:
            for packet in container.demux(stream):
                if packet.size:
                    packets.append((packet.pts, packet.dts, packet.is_keyframe, packet.is_discard))
        except av.error.FFmpegError:
            pass  # unreadable from here on (truncated or damaged): the frames so far are the video
        trusted = bool(TRUSTED_FORMATS & set(container.format.name.split(",")))
        has_b_frames = stream.codec_context.has_b_frames
    if not packets:
        raise VideoError(path, "video stream has no frames (truncated or corrupt)")
    meta = dict(time_base=time_base, fps=fps, header_frames=header_frames, header_duration=header_duration)
    pts = [p[0] for p in packets]
    if None not in pts and len(set(pts)) == len(pts):
        if trusted:
            return _table_from_packets(packets, meta)
        dts = [p[1] for p in packets]
        reordered = any(p != d for p, d in zip(pts, dts)) or any(b <= a for a, b in zip(pts, pts[1:]))
        if not reordered and not has_b_frames:
            return _table_from_packets(packets, meta)  # decode order is display order
    with open_video(path) as (container, stream):
        return _table_by_decoding(path, container, stream, packets, meta)


def _table_from_packets(packets: list[tuple], meta: dict) -> FrameTable:
    pts = np.asarray([p[0] for p in packets], dtype=np.int64)
    keys = np.asarray([p[2] for p in packets], dtype=bool)
    shown = ~np.asarray([p[3] for p in packets], dtype=bool)
    order = np.argsort(pts, kind="stable")
    order = order[shown[order]]  # display order of the frames an edit list does not hide
    if not len(order):
        raise ValueError("every frame is hidden by the edit list")
    frame_pts = pts[order]
    key_pts = np.unique(pts[keys]) if keys.any() else pts[:1]
    seek_first = np.searchsorted(frame_pts, key_pts)  # leading frames of an open GOP come before
    keep = seek_first < len(frame_pts)
    seek_pts, seek_first = key_pts[keep], seek_first[keep]
    seek_first, first_of = np.unique(seek_first, return_index=True)  # several start points: the last
    last_of = np.r_[first_of[1:], len(keep[keep])] - 1
    return FrameTable(pts=frame_pts, times=(frame_pts - frame_pts[0]) * meta["time_base"], decode_pos=order,
                      keyframe=keys[order], seek_pts=seek_pts[last_of], seek_first=seek_first, exact=True,
                      skippable=True, **meta)


def _table_by_decoding(path: Path, container, stream, packets: list[tuple], meta: dict) -> FrameTable:
    """Decode the file once and record what comes out: the only sure order when packets carry no
    presentation times (AVI with B-frames)."""
    position = {p[0]: i for i, p in enumerate(packets) if p[0] is not None}
    frame_pts, frame_dts, keys, errors = [], [], [], [0]
    set_threads(stream)
    for frame in decode_packets(container, stream, errors):
        frame_pts.append(frame.pts)
        frame_dts.append(frame.dts)
        keys.append(bool(frame.key_frame))
    if not frame_pts:
        raise VideoError(path, "no frame could be decoded (corrupt or truncated)")
    exact = None not in frame_pts and len(set(frame_pts)) == len(frame_pts) and all(p in position for p in frame_pts)
    if not exact:
        warn_once(path, NO_TIMESTAMPS)
    n = len(frame_pts)
    pts = np.asarray(frame_pts if exact else range(n), dtype=np.int64)
    decode_pos = np.asarray([position[p] for p in frame_pts] if exact else range(n), dtype=np.int64)
    # A keyframe is a decoded I-frame whose packet the demuxer also marks as one (so a seek can land
    # there); the packets' timestamps in an AVI are its time grid, which is what seeking uses.
    keyframe = np.zeros(n, dtype=bool)
    if exact:
        keyframe = np.asarray(keys, dtype=bool) & np.asarray([packets[i][2] for i in decode_pos], dtype=bool)
    starts = np.flatnonzero(keyframe)
    if not len(starts) or starts[0] != 0:
        starts = np.r_[0, starts]
    seek_pts = np.asarray([packets[decode_pos[i]][1] if i else packets[0][1] for i in starts], dtype=np.int64)
    dts = np.asarray([d if d is not None else i for i, d in enumerate(frame_dts)], dtype=np.float64)
    times = (dts - dts[0]) * meta["time_base"] if np.all(np.diff(dts) > 0) else np.arange(n) / (meta["fps"] or 25.0)
    return FrameTable(pts=pts, times=times, decode_pos=decode_pos, keyframe=keyframe, seek_pts=seek_pts,
                      seek_first=starts.astype(np.int64), exact=exact, damaged=errors[0], **meta)


def decode_packets(container, stream, errors: list[int], table: FrameTable | None = None,
                   skip_below: list[int] | None = None) -> Iterator[av.VideoFrame]:
    """Decode `stream` from where the container stands, skipping packets the decoder rejects;
    `errors[0]` counts them (and a demuxer failure, after which the decoder is drained).

    With `table` and `skip_below`, packets of frames numbered below `skip_below[0]` (which the
    caller may raise as it goes) are decoded only if other frames refer to them: B-frames
    nobody wants are dropped unseen, which is exact and saves most of the decoding before a clip."""
    codec = stream.codec_context
    if skip_below is None and codec.skip_frame != "DEFAULT":
        codec.skip_frame = "DEFAULT"
    try:
        for packet in container.demux(stream):
            if skip_below is not None and packet.size:
                index = table.index_of(packet.pts)
                mode = "NONREF" if index is not None and index < skip_below[0] else "DEFAULT"
                if codec.skip_frame != mode:
                    codec.skip_frame = mode
            try:
                frames = codec.decode(packet) if packet.size else codec.decode(None)
            except av.error.EOFError:
                return
            except av.error.FFmpegError:
                errors[0] += 1
                continue
            yield from frames
        return
    except av.error.ExitError:  # FFmpeg gave up a blocking read for a pending Ctrl-C: not the end
        raise KeyboardInterrupt from None
    except av.error.FFmpegError:
        errors[0] += 1
    try:
        yield from codec.decode(None)
    except av.error.FFmpegError:
        pass


def count_frames(path: str | os.PathLike) -> int:
    """Exact number of frames (frames a full decode outputs, in display order); cached per file."""
    folder = frame_folder(path)
    return len(folder if folder is not None else frame_table(path))


def frame_times(path: str | os.PathLike, fps: float = 25.0) -> np.ndarray:
    """(N,) float64 seconds of every frame from frame 0, in display order; cached per file.

    The real timestamps, so variable frame rates are what they are. Frame folders store no
    times: frame k is at k / `fps` there."""
    folder = frame_folder(path, fps)
    return (folder if folder is not None else frame_table(path)).times


def frames_at(times: np.ndarray, t: float | np.ndarray) -> int | np.ndarray:
    """Frame shown at time `t` (seconds, scalar or array): the last frame whose time is <= t
    (frame 0 before the first). `times` is what `frame_times` returns."""
    index = np.searchsorted(times, np.asarray(t, dtype=np.float64) + 1e-9, side="right") - 1
    index = np.clip(index, 0, len(times) - 1)
    return int(index) if np.ndim(index) == 0 else index
