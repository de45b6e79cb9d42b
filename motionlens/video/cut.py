"""Cut a time window out of a video file, by stream copy (remuxing packets) or by re-encoding.

Frame numbers are positions in presentation order and a frame belongs to the window
`[start_sec, end_sec)` when its time, measured from the first frame, rounds into it (within
half a frame), so a 4 s window at 25 fps is exactly 100 frames wherever it starts.

Stream copy cannot start on a frame that is not a keyframe: the frames after it refer to frames
before it. So `mode="auto"` copies only when the copy is frame-exact, i.e. the window starts on a
keyframe and its packets form one unbroken run in decode order (no B-frame past the end is
needed as a reference), and re-encodes otherwise. `mode="copy"` always copies, starting at the
keyframe at or before `start_sec` (the clip may begin up to one keyframe interval early, and may
end with the reference frames the last B-frames need), as `ffmpeg -ss -c copy` does.
Only the video stream is kept; audio is dropped.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import VideoError
from .decode import frame_to_array
from .probe import open_video, probe
from .writer import VideoWriter

MODES = ("auto", "copy", "reencode")


@dataclass(frozen=True)
class PacketTable:
    """Every video packet of a file. Arrays are in presentation order (frame number = position)."""

    pts: np.ndarray  # (N,) int64, sorted
    decode_pos: np.ndarray  # (N,) position of each frame's packet in decode order
    keyframe: np.ndarray  # (N,) bool
    time_base: float
    fps: float

    def times(self) -> np.ndarray:
        """(N,) seconds of each frame from the first frame."""
        return (self.pts - self.pts[0]) * self.time_base

    def window(self, start_sec: float, end_sec: float) -> tuple[int, int]:
        """(first, stop): frames whose time is in [start_sec, end_sec), stop exclusive."""
        half = 0.5 / self.fps
        times = self.times()
        first = int(np.searchsorted(times, start_sec - half, side="left"))
        stop = int(np.searchsorted(times, end_sec - half, side="left"))
        return first, max(first, stop)

    def keyframe_at_or_before(self, frame: int) -> int:
        keys = np.flatnonzero(self.keyframe[: frame + 1])
        return int(keys[-1]) if len(keys) else 0

    def copy_is_exact(self, first: int, stop: int) -> bool:
        """True when remuxing frames [first, stop) alone gives exactly those frames, decodable."""
        if stop <= first or not self.keyframe[first]:
            return False
        positions = np.sort(self.decode_pos[first:stop])
        return positions[0] == self.decode_pos[first] and positions[-1] - positions[0] == stop - first - 1


_TABLES: OrderedDict[tuple, PacketTable] = OrderedDict()


def packet_table(path: str | os.PathLike) -> PacketTable:
    """The file's PacketTable, by demuxing (no decoding); cached by path, size and mtime."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _TABLES:
        _TABLES.move_to_end(key)
        return _TABLES[key]
    with open_video(path) as (container, stream):
        pts, keys = [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None:
                    raise VideoError(path, "packets carry no timestamps; cannot cut it by time")
                pts.append(packet.pts)
                keys.append(packet.is_keyframe)
        except av.error.FFmpegError as err:
            raise VideoError(path, f"demuxing failed (corrupt or truncated): {err}") from None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        time_base = float(stream.time_base)
    if not pts:
        raise VideoError(path, "video stream has no frames")
    pts_arr = np.asarray(pts, dtype=np.int64)
    order = np.argsort(pts_arr, kind="stable")
    if len(np.unique(pts_arr)) != len(pts_arr):
        raise VideoError(path, "duplicate frame timestamps; cannot cut it by time")
    fps = float(rate) if rate else 1.0 / float(np.median(np.diff(pts_arr[order])) * time_base)
    table = PacketTable(pts=pts_arr[order], decode_pos=order, keyframe=np.asarray(keys, dtype=bool)[order],
                        time_base=time_base, fps=fps)
    _TABLES[key] = table
    if len(_TABLES) > 16:
        _TABLES.popitem(last=False)
    return table


def cut_clip(src: str | os.PathLike, dst: str | os.PathLike, start_sec: float, end_sec: float,
             mode: str = "auto", codec: str | None = None) -> dict:
    """Write the frames of `src` in `[start_sec, end_sec)` (seconds from its first frame) to `dst`.

    mode: "auto" (stream copy when frame-exact, else re-encode), "copy" (always stream copy, from
    the keyframe at or before the start) or "reencode" (decode + VideoWriter, `codec` as there).
    The file appears at `dst` only once complete. Returns {"frames", "duration", "mode", "start",
    "exact"}: frames written, the written file's duration (s), the mode used, the time of its first
    frame in `src` and whether it holds exactly the frames asked for. Raises VideoError."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    src, dst = Path(src), Path(dst)
    table = packet_table(src)
    first, stop = table.window(start_sec, end_sec)
    if stop <= first:
        duration = float(table.times()[-1]) + 1 / table.fps
        raise VideoError(src, f"no frames in {start_sec:.3f}-{end_sec:.3f} s (the video lasts {duration:.3f} s)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.part{os.getpid()}{dst.suffix}")  # hidden: indexes skip it
    try:
        used, written_first, frames = None, first, 0
        if mode == "copy" or (mode == "auto" and table.copy_is_exact(first, stop)):
            try:
                written_first, frames = _remux(src, tmp, table, first, stop)
                used = "copy"
            except av.error.FFmpegError as err:
                if mode == "copy":
                    raise VideoError(src, f"stream copy into {dst.suffix} failed: {err}") from None
            if mode == "auto" and (used is None or (written_first, frames) != (first, stop - first)):
                # a codec this container cannot hold, or a seek that missed the keyframe: re-encode
                used, written_first = None, first
                tmp.unlink(missing_ok=True)
        if used is None:
            frames = _reencode(src, tmp, table, first, stop, codec)
            used = "reencode"
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    exact = written_first == first and frames == stop - first
    return {"frames": frames, "duration": probe(dst).duration, "mode": used,
            "start": float(table.times()[written_first]), "exact": exact}


def _remux(src: Path, dst: Path, table: PacketTable, first: int, stop: int) -> tuple[int, int]:
    """Copy the packets from the keyframe at or before `first` to the last one frames < `stop`
    need; returns (first frame written, frames written)."""
    key = table.keyframe_at_or_before(first)
    begin = int(table.decode_pos[key])
    end = int(table.decode_pos[key:stop].max())  # inclusive, decode order
    offset = int(table.pts[key])
    with open_video(src) as (container, stream):
        out = av.open(str(dst), mode="w")
        try:
            out_stream = out.add_stream_from_template(stream)
            written = 0
            container.seek(offset, stream=stream, backward=True, any_frame=False)
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                position = int(np.searchsorted(table.pts, packet.pts))
                if position == len(table.pts) or table.pts[position] != packet.pts:
                    continue
                decode_index = int(table.decode_pos[position])
                if decode_index > end:
                    break
                if decode_index < begin or packet.pts < offset:
                    continue  # before the keyframe (the seek landed early), or an open GOP's leading frames
                packet.pts -= offset
                packet.dts = packet.dts - offset if packet.dts is not None else None
                packet.stream = out_stream
                out.mux(packet)
                written += 1
        finally:
            out.close()
    return key, written


def _reencode(src: Path, dst: Path, table: PacketTable, first: int, stop: int, codec: str | None) -> int:
    """Decode frames [first, stop) and encode them at the source's frame rate; returns frames written."""
    index_of_pts = {int(p): i for i, p in enumerate(table.pts)}
    writer = VideoWriter(dst, table.fps, codec=codec)
    written = 0
    try:
        with open_video(src) as (container, stream):
            stream.thread_type = "AUTO"
            seek_to = int(table.pts[table.keyframe_at_or_before(first)])
            for _ in range(2):  # a second pass from the top when the seek overshot
                container.seek(seek_to, stream=stream, backward=True, any_frame=False)
                overshot = False
                for frame in container.decode(stream):
                    index = index_of_pts.get(frame.pts)
                    if index is None or index < first + written:
                        continue
                    if index > first + written:  # the seek landed past the start, or a frame was lost
                        overshot = written == 0
                        break
                    writer.write(frame_to_array(frame))
                    written += 1
                    if first + written >= stop:
                        break
                if not overshot:
                    break
                seek_to = int(table.pts[0])
    except av.error.FFmpegError as err:
        raise VideoError(src, f"decoding failed (corrupt or truncated): {err}") from None
    finally:
        writer.close()
    if written != stop - first:
        raise VideoError(src, f"only {written} of frames {first}-{stop - 1} could be decoded (truncated or corrupt)")
    return written
