"""A video container's headers: opening a file, its stream header, rotation, and the MP4 sample table.

Nothing here decodes frames beyond the first (where FFmpeg puts the display matrix)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..core.errors import VideoError
from ..core.paths import safe_name

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
SOURCE_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi")  # what downloaders (yt-dlp) write, tried first


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns. `frames_estimated` is True when `num_frames` is the container's claim
    (or duration x fps), not the count of frames the decoders give; see `probe(exact=True)`."""

    path: str
    fps: float
    num_frames: int
    duration: float  # seconds
    width: int
    height: int
    codec: str
    rotation: int = 0  # counter-clockwise degrees that make the picture upright (display matrix / rotate tag)
    frames_estimated: bool = False
    vfr: bool = False  # frame intervals vary (known with exact=True)
    ends_early: bool = False  # frames stop before the duration the container claims: truncated (exact=True)

    def to_dict(self) -> dict:
        return asdict(self)


def check_file(path: str | os.PathLike) -> Path:
    """Raise VideoError for a missing or zero-byte file; return the path."""
    path = Path(path)
    if not path.exists():
        raise VideoError(path, "file not found")
    if path.is_file() and path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    return path


def find_video(videos: str | os.PathLike, video_id: str) -> Path | None:
    """`<videos>/<video_id>.{mp4,mkv,webm,avi}` (then any other video extension), or None: the
    downloaded source of an AVA or Kinetics id. `video_id` must be a plain file name (see `paths.safe_name`)."""
    safe_name(video_id, "video_id")
    for ext in SOURCE_EXTENSIONS + tuple(e for e in VIDEO_EXTENSIONS if e not in SOURCE_EXTENSIONS):
        path = Path(videos) / f"{video_id}{ext}"
        if path.is_file():
            return path
    return None


@contextmanager
def open_video(path: str | os.PathLike) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open a file with PyAV and yield (container, first video stream); every failure is a VideoError."""
    path = check_file(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.InvalidDataError:
        kind = sniff_container(path)
        if kind:
            raise VideoError(path, f"truncated or corrupt {kind} file (its header is there, the rest is unreadable)") from None
        raise VideoError(path, "not a video file (no known container format)") from None
    except (av.error.FFmpegError, OSError) as err:
        raise VideoError(path, f"cannot open: {_ffmpeg_reason(err)}") from None
    try:
        if not container.streams.video:
            raise VideoError(path, "no video stream")
        if container.streams.video[0].codec_context is None:
            raise VideoError(path, "no decoder for its video codec (corrupt header or unsupported codec)")
        yield container, container.streams.video[0]
    finally:
        container.close()


def sniff_container(path: Path) -> str | None:
    """The container a file's first bytes announce (MP4/MOV, AVI, Matroska/WebM), or None."""
    with open(path, "rb") as f:
        head = f.read(12)
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
        return "MP4/MOV"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "AVI"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    return None


def _ffmpeg_reason(err: Exception) -> str:
    reason = getattr(err, "strerror", None) or str(err)
    if "moov atom not found" in reason or "End of file" in reason:
        return "truncated or incomplete file"
    return reason


def legacy_rotation(stream: av.video.stream.VideoStream) -> int:
    """Counter-clockwise degrees from a stream's legacy `rotate` tag (which says clockwise), or 0."""
    tag = stream.metadata.get("rotate")
    try:
        return (-int(float(tag))) % 360 if tag is not None else 0
    except ValueError:
        return 0


def _rotation(container, stream) -> int:
    """Counter-clockwise degrees that make the picture upright: the display matrix (read from the
    first decoded frame, where FFmpeg puts it; only containers that can hold one are decoded),
    else the legacy tag."""
    if set(container.format.name.split(",")) & {"mov", "mp4", "matroska", "webm"}:
        try:
            for frame in container.decode(stream):
                degrees = getattr(frame, "rotation", 0)
                if degrees:
                    return int(round(degrees / 90.0)) % 4 * 90
                break
        except (av.error.FFmpegError, ValueError):
            pass
    return int(round(legacy_rotation(stream) / 90.0)) % 4 * 90


def stream_header(container, stream) -> tuple[float, int, float, float]:
    """(fps, header frame count, header duration s, time base) from the headers."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    time_base = float(stream.time_base) if stream.time_base else 1.0 / (fps or 25.0)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    return fps, max(int(stream.frames or 0), 0), max(duration, 0.0), time_base


def _count_from_sample_table(path: str | os.PathLike) -> tuple[int, bool] | None:
    """(frames, vfr) of an MP4/MOV from its sample table alone (no packet is read): the samples an
    edit list does not hide. None when the file is not one, or its samples run past its end."""
    with open_video(path) as (container, stream):
        if not {"mov", "mp4"} & set(container.format.name.split(",")):
            return None
        entries = stream.index_entries
        if not len(entries) or max(e.pos + e.size for e in entries) > Path(path).stat().st_size:
            return None
        # `flags` is a 2-bit field read as signed: bit 1 (AVINDEX_DISCARD_FRAME) shows as -1 or -2
        shown = sum(1 for e in entries if not e.flags & 2)
        # decode times of all samples: their steps are the frame durations (hidden frames included)
        times = [e.timestamp * float(stream.time_base) for e in entries]
    return (shown, frame_rate_varies(times)) if shown else None


def frame_rate_varies(times) -> bool:
    """True when the steps between frame times (s, in order) vary beyond timestamp rounding."""
    steps = np.diff(np.asarray(times, dtype=np.float64))
    if len(steps) < 2:
        return False
    typical = float(np.median(steps))
    return typical <= 0 or bool(np.any(np.abs(steps - typical) > 0.25 * typical))
