"""Read a video's metadata from its container and stream headers, never by decoding it."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import av

from ..errors import VideoError
from . import frame_dir

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` learns from headers. `frames_estimated` is True when the container stores no
    frame count and `num_frames` was derived from duration x fps."""

    path: str
    fps: float
    num_frames: int
    duration: float  # seconds
    width: int
    height: int
    codec: str
    rotation: int = 0  # degrees, as stored in the container's display matrix / rotate tag
    frames_estimated: bool = False

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


def _rotation(stream: av.video.stream.VideoStream) -> int:
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            return int(float(tag)) % 360
        except ValueError:
            return 0
    return 0


def probe(path: str | os.PathLike, default_fps: float = 25.0) -> VideoInfo:
    """Metadata of a video file or a folder of extracted frames.

    `default_fps` is used for frame folders, which store no rate."""
    if Path(path).is_dir():
        return frame_dir.probe_dir(path, fps=default_fps)
    with open_video(path) as (container, stream):
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        num_frames, estimated = int(stream.frames or 0), False
        if num_frames <= 0:
            num_frames, estimated = int(math.floor(duration * fps + 0.5)), True
        if duration <= 0 and fps > 0:
            duration = num_frames / fps
        if fps <= 0 or num_frames <= 0 or not stream.width:
            raise VideoError(path, "video stream has no frames or no frame rate (truncated or corrupt)")
        return VideoInfo(
            path=str(path),
            fps=fps,
            num_frames=num_frames,
            duration=duration,
            width=int(stream.width),
            height=int(stream.height),
            codec=stream.codec_context.name,
            rotation=_rotation(stream),
            frames_estimated=estimated,
        )
