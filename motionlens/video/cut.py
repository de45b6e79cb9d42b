"""Cut a time window out of a video file, by stream copy (remuxing packets) or by re-encoding.

Frame numbers and times are those of `frame_table.FrameTable` (display order, real timestamps, VFR
included). The window `[start_sec, end_sec)`, in seconds from the first frame, runs from the frame shown
at `start_sec` (the last one whose time is <= it) to the frame shown at `end_sec`, exclusive,
so a 4 s window at 25 fps is exactly 100 frames wherever it starts.

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
from pathlib import Path

import av
import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import VideoError
from .container import open_video
from .frame_table import FrameTable, frame_table, frames_at
from .reader import read_clip
from .probe import probe
from .writer import VideoWriter

MODES = ("auto", "copy", "reencode")


def window(table: FrameTable, start_sec: float, end_sec: float) -> tuple[int, int]:
    """(first, stop), stop exclusive: from the frame shown at `start_sec` to the one shown at
    `end_sec` (the frame shown at t is the last one whose time is <= t), by real times, so a 4 s
    window of a 25 fps video is 100 frames wherever it starts. Empty (first == stop) when the
    window starts after the last frame."""
    times = table.times
    last_end = float(times[-1]) + (1.0 / table.fps if table.fps else 0.0)
    if start_sec >= last_end - _EPS or end_sec <= start_sec:
        return len(times), len(times)
    first = frames_at(times, start_sec + _EPS)
    stop = len(times) if end_sec >= last_end - _EPS else frames_at(times, end_sec + _EPS)
    return first, max(first, stop)


def keyframe_at_or_before(table: FrameTable, frame: int) -> int:
    keys = np.flatnonzero(table.keyframe[: frame + 1])
    return int(keys[-1]) if len(keys) else 0


def copy_is_exact(table: FrameTable, first: int, stop: int) -> bool:
    """True when remuxing frames [first, stop) alone gives exactly those frames, decodable."""
    if stop <= first or not table.keyframe[first] or not table.exact:
        return False
    positions = np.sort(table.decode_pos[first:stop])
    return positions[0] == table.decode_pos[first] and positions[-1] - positions[0] == stop - first - 1


_EPS = 1e-6  # seconds: timestamps stored in other time bases round to within this


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
    table = frame_table(src)
    first, stop = window(table, start_sec, end_sec)
    if stop <= first:
        duration = float(table.times[-1]) + 1 / table.fps
        raise VideoError(src, f"no frames in {start_sec:.3f}-{end_sec:.3f} s (the video lasts {duration:.3f} s)")
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:  # a hidden name with dst's suffix (the muxer picks the format by it)
        used, written_first, frames = None, first, 0
        if mode == "copy" or (mode == "auto" and copy_is_exact(table, first, stop)):
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
    exact = written_first == first and frames == stop - first
    return {"frames": frames, "duration": probe(dst).duration, "mode": used,
            "start": float(table.times[written_first]), "exact": exact}


def _remux(src: Path, dst: Path, table: FrameTable, first: int, stop: int) -> tuple[int, int]:
    """Copy the packets from the keyframe at or before `first` to the last one frames < `stop`
    need; returns (first frame written, frames written)."""
    key = keyframe_at_or_before(table, first)
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
                position = table.index_of(packet.pts)
                if position is None:
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


def _reencode(src: Path, dst: Path, table: FrameTable, first: int, stop: int, codec: str | None) -> int:
    """Decode frames [first, stop) (as `read_frames` does, upright) and encode them at the source's
    nominal frame rate; returns frames written."""
    writer = VideoWriter(dst, table.fps, codec=codec)
    written = 0
    try:
        for begin in range(first, stop, _CHUNK):
            clip = read_clip(src, range(begin, min(begin + _CHUNK, stop)))
            if clip.damaged.all():
                break
            for image in clip.frames:
                writer.write(image)
                written += 1
    finally:
        writer.close()
    if written != stop - first:
        raise VideoError(src, f"only {written} of frames {first}-{stop - 1} could be decoded (truncated or corrupt)")
    return written


_CHUNK = 64  # frames decoded per read while re-encoding: bounded memory, few seeks
