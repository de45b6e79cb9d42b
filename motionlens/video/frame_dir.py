"""Folders of extracted JPEG frames (`img_00001.jpg`, `frame000001.jpg`, UCF101 `jpegs_256`)."""

from __future__ import annotations

import os
import re
from functools import lru_cache

import cv2
import numpy as np

from ..core.errors import VideoError
from .container import VideoInfo

# A process forked while OpenCV's thread pool holds its locks deadlocks in the child (seen here
# with DataLoader workers and process pools). Parallelism comes from worker processes instead.
cv2.setNumThreads(1)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
_NUMBER = re.compile(r"(\d+)(?=\.[A-Za-z]+$)")


def list_frames(path: str | os.PathLike, prefix: str | None = None) -> list[str]:
    """Image files of a frame folder in frame order (by the number in the name).

    `prefix` keeps only names starting with it, e.g. `flow_x_` in a folder of flow pairs."""
    return list(_list_frames(str(path), prefix, os.stat(path).st_mtime_ns))


@lru_cache(maxsize=512)
def _list_frames(path: str, prefix: str | None, _mtime: int) -> tuple[str, ...]:
    names = []
    with os.scandir(path) as entries:
        for e in entries:
            if e.name.lower().endswith(IMAGE_EXTENSIONS) and (prefix is None or e.name.startswith(prefix)):
                match = _NUMBER.search(e.name)
                names.append((int(match.group(1)) if match else -1, e.name))
    names.sort()
    return tuple(os.path.join(path, name) for _, name in names)


def read_image(file: str, size: tuple[int, int] | None = None, gray: bool = False) -> np.ndarray:
    """One image as uint8 RGB (H, W, 3), or (H, W) with `gray`; `size` is (H, W), resized bilinearly."""
    data = np.fromfile(file, dtype=np.uint8) if os.path.isfile(file) else None
    if data is None:
        raise VideoError(file, "image file not found")
    image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise VideoError(file, "cannot decode image (corrupt or not an image)")
    if not gray:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if size is not None and (image.shape[0], image.shape[1]) != tuple(size):
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return image


def probe_dir(path: str | os.PathLike, fps: float = 25.0):
    """VideoInfo for a frame folder; frame folders store no rate, so `fps` is the caller's."""
    files = list_frames(path)
    if not files:
        raise VideoError(path, "frame folder holds no images")
    data = np.fromfile(files[0], dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise VideoError(files[0], "cannot decode image (corrupt or not an image)")
    height, width = image.shape[:2]
    return VideoInfo(
        path=str(path), fps=fps, num_frames=len(files), duration=len(files) / fps,
        width=int(width), height=int(height), codec="jpeg-frames",
    )
