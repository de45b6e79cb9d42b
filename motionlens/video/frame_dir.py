"""Folders of extracted JPEG frames (`img_00001.jpg`, `frame000001.jpg`, UCF101 `jpegs_256`), and
`FrameFolder`, which reads one as a video file is read."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..core.errors import VideoError
from .container import VideoInfo
from .frames import Clip, DecodeReport, Frame, Size, check_range, output_size

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


class FrameFolder:
    """A folder of extracted frames, read as a video file is: `len`, `times` (as a FrameTable
    has), `read`, `iter` and `probe`. Frame k is the k-th image by the number in its name;
    folders store no rate, so frame k is at k / `fps`."""

    def __init__(self, path: str | os.PathLike, fps: float = 25.0):
        self.path, self.fps = Path(path), fps
        self.files = list_frames(self.path)

    def __len__(self) -> int:
        return len(self.files)

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self.files)) / self.fps

    def read(self, indices: list[int], size: Size = None, clamp: bool = False) -> Clip:
        """As `read_clip`: images never hold damaged frames, so none is flagged."""
        if clamp and self.files:
            indices = [min(i, len(self.files) - 1) for i in indices]
        wanted = sorted(set(indices))
        check_range(self.path, wanted, len(self.files))
        if not wanted:
            return Clip(np.zeros((0, 0, 0, 3), dtype=np.uint8), np.zeros(0, dtype=bool))
        first = read_image(self.files[wanted[0]])  # the first image sets the output size for all
        target = output_size(*first.shape[:2], size)
        decoded = {wanted[0]: first if target is None else cv2.resize(first, (target[1], target[0]),
                                                                      interpolation=cv2.INTER_LINEAR)}
        decoded.update({i: read_image(self.files[i], target) for i in wanted[1:]})
        return Clip(np.stack([decoded[i] for i in indices]), np.zeros(len(indices), dtype=bool))

    def iter(self, size: Size = None, step: int = 1, report: DecodeReport | None = None) -> Iterator[Frame]:
        """As `iter_frames`; the first image sets the output size for all."""
        report = report if report is not None else DecodeReport(path=str(self.path))
        report.expected = len(self.files)
        target = None
        if size is not None and self.files:
            first = read_image(self.files[0])
            target = output_size(first.shape[0], first.shape[1], size)
        for index in range(0, len(self.files), step):
            yield Frame(index, index / self.fps, read_image(self.files[index], target))
            report.frames += 1

    def probe(self) -> VideoInfo:
        return probe_dir(self.path, fps=self.fps)


def frame_folder(source: str | int | os.PathLike, fps: float = 25.0) -> FrameFolder | None:
    """`source` as a FrameFolder when it is a folder; None for a video file, URL or webcam index.
    The one place a frame folder is told apart from a video: every reader asks here."""
    if isinstance(source, int) or not Path(str(source)).is_dir():
        return None
    return FrameFolder(source, fps)
