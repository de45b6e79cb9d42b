"""Colour-wheel pictures of optical flow: hue = direction, brightness = magnitude.

Direction follows image coordinates (y points down): motion to the right is red, down is
yellow-green, left is cyan, up is violet. Full brightness is `max_magnitude` pixels per frame.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..core.errors import MotionlensError
from ..data import flow_storage as storage
from ..data.flow_storage import dequantize
from ..video import VideoWriter
from .flow import extract_video


def flow_to_color(flow: np.ndarray, max_magnitude: float) -> np.ndarray:
    """float flow `(H, W, 2)` in pixels -> uint8 RGB `(H, W, 3)`; black is no motion."""
    fx, fy = flow[..., 0].astype(np.float32), flow[..., 1].astype(np.float32)
    magnitude, angle = cv2.cartToPolar(fx, fy, angleInDegrees=True)
    hsv = np.empty(flow.shape[:2] + (3,), np.uint8)
    hsv[..., 0] = np.rint(angle / 2) % 180  # OpenCV hue is 0..179 for 0..358 degrees
    hsv[..., 1] = 255
    hsv[..., 2] = np.rint(np.clip(magnitude / max(max_magnitude, 1e-6), 0, 1) * 255)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def color_wheel(size: int = 128, max_magnitude: float = 1.0) -> np.ndarray:
    """The legend: uint8 RGB `(size, size, 3)`, each pixel coloured as flow pointing from the centre to it."""
    r = (np.arange(size, dtype=np.float32) - (size - 1) / 2) / ((size - 1) / 2) * max_magnitude
    x, y = np.meshgrid(r, r)
    image = flow_to_color(np.stack([x, y], axis=-1), max_magnitude)
    image[np.hypot(x, y) > max_magnitude] = 255
    return image


def _is_flow_dir(path: Path) -> bool:
    return path.is_dir() and (storage.read_done(path) is not None or any(path.glob("flow_x_*")))


def show_flow(source: str | os.PathLike, out_dir: str | os.PathLike, method: str = "farneback",
              size: int | None = None, num_images: int = 8, max_magnitude: float | None = None) -> dict:
    """Visualise a video's flow (computed now with `method`) or an extracted flow folder.

    Writes `num_images` evenly spaced `flow_#####.png` (numbered as the flow frames), `flow.mp4`
    of every flow frame and `wheel.png` (the legend) into `out_dir`. `max_magnitude` (pixels per
    frame) is full brightness; by default the 99th percentile of the magnitudes, at least 1 px,
    the same for every frame so brightness is comparable over time. Returns the paths written."""
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise MotionlensError(f"not found: {source}")
    with tempfile.TemporaryDirectory(prefix="motionlens-flow-") as tmp:
        flow_dir = source if _is_flow_dir(source) else Path(tmp)
        if flow_dir != source:
            extract_video(source, flow_dir, method=method, size=size, fmt="video")
        return _render(flow_dir, out_dir, num_images, max_magnitude)


def _render(flow_dir: Path, out_dir: Path, num_images: int, max_magnitude: float | None) -> dict:
    info = storage.flow_info(flow_dir)
    n = int(info["num_flow_frames"])
    if max_magnitude is None:
        sample = np.unique(np.linspace(0, n - 1, min(n, 32)).round().astype(int))
        flows = dequantize(storage.read_flow(flow_dir, sample))  # (S, H, W, 2)
        max_magnitude = max(1.0, float(np.percentile(np.hypot(flows[..., 0], flows[..., 1]), 99)))
    out_dir.mkdir(parents=True, exist_ok=True)
    picked = set(np.linspace(0, n - 1, min(n, num_images)).round().astype(int).tolist()) if num_images else set()
    pngs = []
    with VideoWriter(out_dir / "flow.mp4", fps=float(info.get("fps") or 25.0)) as writer:
        for start in range(0, n, 64):  # bounded memory: 64 flow frames at a time
            chunk = list(range(start, min(start + 64, n)))
            for k, q in zip(chunk, storage.read_flow(flow_dir, chunk)):
                image = flow_to_color(dequantize(q), max_magnitude)
                writer.write(image)
                if k in picked:
                    path = out_dir / f"flow_{k + 1:05d}.png"
                    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                    pngs.append(path)
    wheel = out_dir / "wheel.png"
    cv2.imwrite(str(wheel), cv2.cvtColor(color_wheel(128, max_magnitude), cv2.COLOR_RGB2BGR))
    return {"images": pngs, "video": out_dir / "flow.mp4", "wheel": wheel, "num_flow_frames": n,
            "max_magnitude": max_magnitude}
