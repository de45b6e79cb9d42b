"""Extracted flow on disk: one folder per video, mirroring the video's path under the data root.

    FLOWROOT/<class>/<video name without extension>/
        flow_x_00001.jpg  flow_y_00001.jpg  ...      --format jpeg (default)
        x.mp4  y.mp4                                 --format video
        done                                         JSON, written last and atomically

Flow frame k (files numbered k + 1) is the motion from frame k to frame k + 1, so a video of N
frames has N - 1 flow frames. Each component is quantised to 8 bits (`quantize`, error
<= 0.078 px inside +-20 px) and stored as a grayscale image or a grayscale video.

JPEG: 8-bit grayscale at quality 95 (no chroma, so no chroma subsampling). On Farneback flow of
the synthetic videos (320x240) the JPEG round trip changes a stored value by at most 4 levels
(0.63 px), by 1 level at the 99th percentile and 0.04 levels (0.006 px) on average, on top of
the quantisation. About 3 kB per component per frame at 320x240. This is the format
TSN-era tooling (denseflow, mmaction) reads.

Video: H.264 with qp 0 (lossless) in full-range 4:2:0 (`yuvj420p`): a grayscale image lives in
the luma plane, which 4:2:0 does not subsample, and the chroma planes are constant, so the
stored bytes read back exactly (measured error 0) at about the size of the JPEGs. Two files per
video instead of thousands; frames are read with the seeking decoder (keyframe every 16 frames).
Where libx264 is missing, FFV1 in `.mkv` is used instead (also lossless).

A folder without its `done` marker is unfinished: readers refuse it and extraction redoes it.

8-bit quantisation: each component is clipped to +-20 px and mapped linearly to 0..255.

    q = round((clip(f, -20, 20) + 20) * 255 / 40)        f' = q * 40 / 255 - 20

This is the TV-L1 convention of the two-stream / TSN literature. Zero motion sits at 127.5, so it
is stored as 127 or 128 and reads back as -0.078 or +0.078 px. Inside the bound, the round-trip
error is at most half a step, 40 / 255 / 2 = 0.078 px; motion beyond 20 px per frame (rare at
256-340 px frame widths) is clipped. Models see the stored values scaled to [0, 1] and normalised
with the temporal models' statistics (`models.cfg.FLOW_MEAN` / `FLOW_STD`).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import av
import cv2
import numpy as np

from ..core.atomic import write_text
from ..core.errors import VideoError
from ..video import VIDEO_EXTENSIONS, read_frames
from ..video import Size, output_size
from ..video.frame_dir import read_image
from ..video.writer import has_encoder

DONE = "done"
FORMATS = ("jpeg", "video")
JPEG_QUALITY = 95
JPEG_MAX_LEVELS = 4  # measured worst-case JPEG round-trip change at quality 95 (see above)
_GOP = 16

BOUND = 20.0  # pixels per frame; flow is clipped to [-BOUND, BOUND]
STEP = 2 * BOUND / 255  # pixels per quantisation level (0.157)
MAX_ERROR = STEP / 2  # worst-case round-trip error inside the bound (0.078 px)


def quantize(flow: np.ndarray, bound: float = BOUND) -> np.ndarray:
    """float flow in pixels `(..., 2)` -> uint8 of the same shape."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2 * bound))
    return np.rint(scaled).astype(np.uint8)


def dequantize(q: np.ndarray, bound: float = BOUND) -> np.ndarray:
    """uint8 `(..., 2)` -> float32 flow in pixels."""
    return q.astype(np.float32) * np.float32(2 * bound / 255.0) - np.float32(bound)


def flow_file_names(k: int) -> tuple[str, str]:
    """JPEG names of flow frame `k` (0-based): ("flow_x_{k+1:05d}.jpg", "flow_y_{k+1:05d}.jpg")."""
    return f"flow_x_{k + 1:05d}.jpg", f"flow_y_{k + 1:05d}.jpg"


def flow_dir_for(video: str | os.PathLike, data_root: str | os.PathLike, flow_root: str | os.PathLike) -> Path:
    """The flow folder of `video`: its path relative to `data_root`, without a video extension, under `flow_root`."""
    rel = os.path.relpath(os.path.abspath(video), os.path.abspath(data_root))
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise VideoError(video, f"not under the data root {data_root}, so its flow folder is unknown")
    base, ext = os.path.splitext(rel)
    if ext.lower() in VIDEO_EXTENSIONS:
        rel = base
    return Path(flow_root) / rel


class JpegFlowWriter:
    """Writes quantised flow frames as `flow_x_#####.jpg` / `flow_y_#####.jpg`."""

    def __init__(self, out_dir: Path, quality: int = JPEG_QUALITY):
        self.out_dir, self.quality, self.count = Path(out_dir), quality, 0

    def write(self, q: np.ndarray) -> None:
        """One uint8 `(H, W, 2)` flow frame."""
        for name, plane in zip(flow_file_names(self.count), (q[..., 0], q[..., 1])):
            ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(plane), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
            if not ok:
                raise VideoError(self.out_dir / name, "JPEG encoding failed")
            buf.tofile(str(self.out_dir / name))
        self.count += 1

    def close(self) -> dict:
        return {"format": "jpeg", "quality": self.quality}


class VideoFlowWriter:
    """Writes quantised flow as two lossless grayscale videos, `x.mp4` and `y.mp4` (FFV1 `.mkv` without libx264)."""

    def __init__(self, out_dir: Path, fps: float):
        self.out_dir, self.fps, self.count = Path(out_dir), fps, 0
        self.codec, self.ext = ("libx264", ".mp4") if has_encoder("libx264") else ("ffv1", ".mkv")
        self._outputs: list[tuple] = []

    def _open(self, height: int, width: int) -> None:
        rate = Fraction(self.fps or 25.0).limit_denominator(1001)
        for name in ("x", "y"):
            container = av.open(str(self.out_dir / f"{name}{self.ext}"), mode="w")
            stream = container.add_stream(self.codec, rate=rate)
            stream.width, stream.height = width + width % 2, height + height % 2  # 4:2:0 needs even sizes
            stream.codec_context.gop_size = _GOP
            stream.codec_context.time_base = 1 / rate
            if self.codec == "libx264":
                # Full range: the gray value is the luma value, untouched by a 16-235 range squeeze.
                stream.codec_context.pix_fmt = "yuvj420p"
                stream.options = {"qp": "0", "preset": "veryfast"}
            else:
                stream.codec_context.pix_fmt = "gray"
            self._outputs.append((container, stream))

    def write(self, q: np.ndarray) -> None:
        """One uint8 `(H, W, 2)` flow frame."""
        if not self._outputs:
            self._open(q.shape[0], q.shape[1])
        for c, (container, stream) in enumerate(self._outputs):
            plane = q[..., c]
            if plane.shape != (stream.height, stream.width):
                pad = ((0, stream.height - plane.shape[0]), (0, stream.width - plane.shape[1]))
                plane = np.pad(plane, pad, mode="edge")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(plane), format="gray")
            frame.pts = self.count
            for packet in stream.encode(frame):
                container.mux(packet)
        self.count += 1

    def close(self) -> dict:
        for container, stream in self._outputs:
            for packet in stream.encode():
                container.mux(packet)
            container.close()
        self._outputs = []
        return {"format": "video", "codec": self.codec, "files": [f"x{self.ext}", f"y{self.ext}"]}


def write_done(out_dir: Path, info: dict) -> None:
    """Write the `done` marker last and atomically: its presence means the folder is complete."""
    write_text(Path(out_dir) / DONE, json.dumps(info, indent=1))


def read_done(flow_dir: str | os.PathLike) -> dict | None:
    """The `done` marker's contents, or None when the folder is unfinished or absent."""
    marker = os.path.join(flow_dir, DONE)
    try:
        stamp = os.stat(marker).st_mtime_ns
    except OSError:
        return None
    return _read_done(marker, stamp)


@lru_cache(maxsize=4096)
def _read_done(marker: str, _stamp: int) -> dict | None:
    try:
        return json.loads(Path(marker).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def flow_info(flow_dir: str | os.PathLike) -> dict:
    """`read_done`, raising VideoError (naming the folder) when there is no finished flow."""
    info = read_done(flow_dir)
    if info is None:
        reason = ("flow extraction unfinished (no 'done' marker)" if os.path.isdir(flow_dir)
                  else "no extracted flow here")
        raise VideoError(flow_dir, f"{reason}; run `motionlens flow` on the dataset")
    return info


def read_flow(flow_dir: str | os.PathLike, indices: Sequence[int], size: Size = None) -> np.ndarray:
    """Flow frames `indices` of a flow folder as uint8 `(T, H, W, 2)` (x, y), in the order asked.

    `size` is a short side (int) or exact (H, W); planes are resized bilinearly. Out-of-range
    indices raise VideoError."""
    info = flow_info(flow_dir)
    n = int(info["num_flow_frames"])
    bad = [int(i) for i in indices if not 0 <= int(i) < n]
    if bad:
        raise VideoError(flow_dir, f"flow frame {bad[0]} is out of range (the folder has {n} flow frames)")
    target = output_size(int(info["height"]), int(info["width"]), size)
    if info["format"] == "video":
        height, width = int(info["height"]), int(info["width"])
        # Read at the stored size and crop the padding of odd sizes before any resize.
        planes = [read_frames(os.path.join(flow_dir, name), indices)[:, :height, :width, 0] for name in info["files"]]
        out = np.stack(planes, axis=-1)  # (T, H, W, 2)
        if target is not None and target != (height, width):
            out = np.stack([cv2.resize(f, (target[1], target[0]), interpolation=cv2.INTER_LINEAR) for f in out])
        return np.ascontiguousarray(out)
    cache: dict[int, np.ndarray] = {}
    for i in {int(i) for i in indices}:
        planes = [read_image(os.path.join(flow_dir, name), target, gray=True) for name in flow_file_names(i)]
        cache[i] = np.stack(planes, axis=-1)
    return np.stack([cache[int(i)] for i in indices]) if len(indices) else np.zeros((0, 0, 0, 2), np.uint8)


def remove_partial(out_dir: Path) -> None:
    """Delete what an interrupted extraction may have left in `out_dir` (only files this module writes)."""
    if not out_dir.is_dir():
        return
    for entry in os.scandir(out_dir):
        name = entry.name
        if entry.is_file() and (name.startswith(("flow_x_", "flow_y_", f".{DONE}.")) or name in
                                ("x.mp4", "y.mp4", "x.mkv", "y.mkv", DONE)):
            os.unlink(entry.path)
