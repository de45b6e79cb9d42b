"""Write videos with PyAV: H.264 mp4 where the encoder exists, MPEG-4 Part 2 otherwise."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..core.errors import VideoError

# extension -> codecs in order of preference
_CODECS = {
    ".mp4": ("libx264", "h264", "mpeg4"),
    ".mov": ("libx264", "h264", "mpeg4"),
    ".mkv": ("libx264", "h264", "mpeg4"),
    ".m4v": ("libx264", "h264", "mpeg4"),
    ".avi": ("mpeg4",),
    ".webm": ("libvpx-vp9", "libvpx"),
}
# Tags HMDB51/UCF101-era AVI files carry; players pick the decoder from them.
_AVI_TAGS = {"xvid": ("mpeg4", "XVID"), "divx": ("mpeg4", "DIVX"), "mpeg4": ("mpeg4", "XVID")}


def has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
        return True
    except (av.error.FFmpegError, ValueError):
        return False


def pick_codec(path: str | os.PathLike, codec: str | None = None) -> tuple[str, str | None]:
    """(encoder name, fourcc tag or None) for `path`; `codec` may be an encoder name, "xvid" or "divx"."""
    if codec is not None:
        name, tag = _AVI_TAGS.get(codec.lower(), (codec, None))
        if not has_encoder(name):
            raise VideoError(path, f"encoder '{name}' is not available in this FFmpeg build")
        return name, tag
    ext = Path(path).suffix.lower()
    for name in _CODECS.get(ext, ("libx264", "mpeg4")):
        if has_encoder(name):
            return name, ("XVID" if ext == ".avi" and name == "mpeg4" else None)
    raise VideoError(path, f"no encoder available for {ext or 'this extension'}")


class VideoWriter:
    """Write uint8 RGB frames `(H, W, 3)` to a video file at `fps`.

    Size comes from the first frame. Odd sizes are padded by one edge pixel, since 4:2:0 chroma
    needs even dimensions. `gop` is the keyframe interval (short GOPs make seeking cheap).
    `deterministic=True` makes the same frames give the same bytes: libx264's threads and its
    macroblock-tree rate control otherwise change the decoded pixels from run to run."""

    def __init__(self, path: str | os.PathLike, fps: float, codec: str | None = None,
                 gop: int = 25, crf: int | None = 23, bit_rate: int | None = None, deterministic: bool = False):
        self.path = Path(path)
        self.fps = fps
        self.codec, self.tag = pick_codec(self.path, codec)
        self.gop, self.crf, self.bit_rate, self.deterministic = gop, crf, bit_rate, deterministic
        self.frames_written = 0
        self._container = None
        self._stream = None

    def _open(self, height: int, width: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self.path), mode="w")
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream(self.codec, rate=rate)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuvj420p" if self.codec == "mjpeg" else "yuv420p"
        stream.codec_context.gop_size = self.gop
        stream.codec_context.time_base = 1 / rate
        if self.tag:
            stream.codec_tag = self.tag
        options = {}
        if self.codec == "libx264" and self.crf is not None:
            options = {"crf": str(self.crf), "preset": "veryfast"}
        elif self.bit_rate:
            stream.bit_rate = self.bit_rate
        elif self.codec in ("mpeg4", "mjpeg"):
            stream.codec_context.qmin, stream.codec_context.qmax = 2, 6
        elif self.codec.startswith("libvpx"):
            options = {"crf": "30", "b": "0", "deadline": "realtime", "cpu-used": "8"}
        if self.deterministic:
            stream.codec_context.thread_count = 1
            if self.codec == "libx264":
                options["x264-params"] = "no-mbtree=1"
        stream.options = options
        self._stream = stream

    def write(self, frame: np.ndarray) -> None:
        """Append one uint8 RGB frame (H, W, 3)."""
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
        if self._container is None:
            self._open(frame.shape[0], frame.shape[1])
        pad_h, pad_w = self._stream.height - frame.shape[0], self._stream.width - frame.shape[1]
        if pad_h or pad_w:
            frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = self.frames_written
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        if self._container is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, **kwargs) -> Path:
    """Write uint8 `(T, H, W, C)` frames to `path`; returns the path."""
    with VideoWriter(path, fps, **kwargs) as writer:
        for frame in frames:
            writer.write(frame)
    return Path(path)
