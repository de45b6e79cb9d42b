"""What every reader shares: decoded frames to uint8 RGB arrays, decoder threading, and the
records the readers return (`Clip`, `Frame`, `DecodeReport`).

Contract: frames come back as uint8 RGB arrays, `(T, H, W, C)` for a clip, upright (the
container's display rotation applied unless `rotate=False`)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..core.errors import VideoError

log = logging.getLogger(__name__)

Size = int | tuple[int, int] | None  # int: short side; (H, W): exact; None: as stored

_MAX_PIXELS = 1 << 26  # 8192 x 8192: a damaged header claiming more must not allocate gigabytes


def output_size(height: int, width: int, size: Size) -> tuple[int, int] | None:
    """(H, W) a frame of `height` x `width` is resized to, or None to keep it."""
    if size is None:
        return None
    if isinstance(size, int):  # short side; the long side is truncated, as torchvision's Resize does
        if height <= width:
            return size, int(size * width / height)
        return int(size * height / width), size
    return (int(size[0]), int(size[1]))


def frame_rotation(frame: av.VideoFrame, legacy: int = 0) -> int:
    """Counter-clockwise degrees (0, 90, 180, 270) that make `frame` upright: its display matrix,
    else the stream's legacy `rotate` tag (passed as `legacy`)."""
    degrees = getattr(frame, "rotation", 0) or legacy
    return int(round(degrees / 90.0)) % 4 * 90


def frame_to_array(frame: av.VideoFrame, size: Size = None, rotation: int = 0,
                   reformatter: VideoReformatter | None = None) -> np.ndarray:
    """An av.VideoFrame as uint8 RGB (H, W, 3), resized bilinearly by swscale while converting and
    turned `rotation` degrees counter-clockwise; `size` applies to the turned picture.

    Pass one `reformatter` for all frames of a read: `VideoFrame.to_ndarray` sets up a new
    swscale context for every frame, which costs ten times the conversion itself on 320x240."""
    if frame.width * frame.height > _MAX_PIXELS or frame.width <= 0 or frame.height <= 0:
        raise av.error.InvalidDataError(0, f"implausible frame size {frame.width}x{frame.height}")
    quarter = rotation // 90 % 4
    height, width = (frame.width, frame.height) if quarter % 2 else (frame.height, frame.width)
    target = output_size(height, width, size)
    reformatter = reformatter or VideoReformatter()
    # threads=1: PyAV's default (0) hands every frame to a pool of one swscale thread per core,
    # which costs more CPU than it saves up to 1280x720 (benchmarks/RESULTS.md).
    if target is None:
        image = reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
    else:
        if quarter % 2:
            target = (target[1], target[0])
        image = reformatter.reformat(frame, format="rgb24", height=target[0], width=target[1],
                                     interpolation="BILINEAR", threads=1).to_ndarray()
    return np.ascontiguousarray(np.rot90(image, quarter)) if quarter else image


_WARNED: set[str] = set()


def warn_once(path: Path | str, message: str) -> None:
    key = f"{path}:{message}"
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning("%s: %s", path, message)


_THREADED_PIXELS = 352 * 288  # frames larger than CIF decode with FFmpeg's threads outside DataLoader workers


def set_threads(stream) -> None:
    # In a DataLoader worker the workers are the parallelism: decoder threads there only add
    # overhead. Elsewhere FFmpeg's frame threads use idle cores and cut a large frame's wall
    # time; up to CIF (320x240 XviD, 176x144 H.264) their start-up and hand-over cost more CPU
    # than they save, with no shorter wall time (benchmarks/RESULTS.md).
    data = sys.modules.get("torch.utils.data")
    codec = stream.codec_context
    small = 0 < codec.width * codec.height <= _THREADED_PIXELS
    if small or (data is not None and data.get_worker_info() is not None):
        stream.thread_type = "SLICE"
        stream.thread_count = 1
    else:
        stream.thread_type = "AUTO"


def converter(size: Size, legacy: int, rotate: bool):
    reformatter = VideoReformatter()
    return lambda frame: frame_to_array(frame, size, frame_rotation(frame, legacy) if rotate else 0, reformatter)


def check_range(path: Path, wanted: list[int], num_frames: int) -> None:
    if wanted and (wanted[0] < 0 or wanted[-1] >= num_frames):
        bad = wanted[0] if wanted[0] < 0 else wanted[-1]
        raise VideoError(path, f"frame {bad} is out of range (the video has {num_frames} frames)")


class Clip(NamedTuple):
    """Frames read by `read_clip`: uint8 (T, H, W, C), and which of them are damaged (T,) bool:
    hit by corrupt data, either concealed by the decoder (as a player shows them) or not decoded
    at all (then holding the nearest decoded frame of the same read)."""

    frames: np.ndarray
    damaged: np.ndarray


class Frame(NamedTuple):
    """One frame from `iter_frames`: its number, its time in seconds, uint8 RGB (H, W, 3)."""

    index: int
    time: float
    image: np.ndarray


@dataclass
class DecodeReport:
    """What streaming a whole video found. `iter_frames` fills it in as it goes."""

    path: str = ""
    frames: int = 0  # frames decoded
    expected: int = 0  # frames the container promised (0: unknown, e.g. a live stream)
    damaged: int = 0  # frames hit by corrupt data: lost, or concealed by the decoder
    num_frames: int = 0  # frames the file holds by its FrameTable (0: not known)
    ends_early: bool = False

    def problem(self) -> str | None:
        """One line naming what was wrong, e.g. "decoded 16 of 100 frames", or None."""
        parts = []
        if self.ends_early:
            parts.append(f"decoded {self.frames} of {self.expected} frames (the file ends early: truncated?)")
        if self.damaged:
            total = max(self.num_frames, self.frames, 1)
            parts.append(f"{min(self.damaged, total)} of {total} frames damaged (corrupt data skipped)")
        return "; ".join(parts) or None
