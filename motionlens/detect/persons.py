"""Person boxes at inference, and track ids across keyframes.

Boxes come from a person-box CSV, OpenCV's HOG people detector (ships with OpenCV 4, nothing to
download; OpenCV 5 dropped it from the main package) or the user's own function. Every source is a *person detector*: a callable

    fn(frame: np.ndarray) -> np.ndarray

taking one uint8 RGB frame (H, W, 3) and returning an (N, 5) float array of rows
`x1, y1, x2, y2, score`, coordinates normalised to 0-1 (x right, y down). `--persons
module_or_file.py:function` loads such a function; `check_boxes` validates what it returns.
Tracking links the boxes of consecutive keyframes greedily by IoU, so each person keeps an id.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from ..core.errors import MotionlensError
from .evaluate import box_iou

PersonDetector = Callable[[np.ndarray], np.ndarray]


def check_boxes(boxes, where: str = "person detector") -> np.ndarray:
    """(N, 5) float64 boxes, clipped to the frame; a wrong shape or non-finite values raise one line."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 5))
    if arr.ndim != 2 or arr.shape[1] != 5:
        raise MotionlensError(f"{where} returned shape {arr.shape}; expected (N, 5) rows x1, y1, x2, y2, score")
    if not np.isfinite(arr).all():
        raise MotionlensError(f"{where} returned NaN or infinite values")
    arr[:, :4] = arr[:, :4].clip(0.0, 1.0)
    return arr[(arr[:, 2] > arr[:, 0]) & (arr[:, 3] > arr[:, 1])]


class HogPersonDetector:
    """OpenCV's HOG + linear SVM pedestrian detector (Dalal-Triggs, 64x128 window) as a person detector.

    Small frames are upscaled first so that a person filling the frame's height fits the window."""

    def __init__(self, min_height: int = 256, score_threshold: float = 0.3, nms_iou: float = 0.45) -> None:
        if not hasattr(cv2, "HOGDescriptor"):
            raise MotionlensError(f"OpenCV {cv2.__version__} has no HOG people detector (OpenCV 5 moved it out of the "
                                  "main package): install OpenCV 4.x or opencv-contrib, or give person boxes as a "
                                  "CSV or your own function (module:function)")
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.min_height, self.score_threshold, self.nms_iou = min_height, score_threshold, nms_iou

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        scale = max(1.0, self.min_height / height)
        image = cv2.resize(frame, (round(width * scale), round(height * scale))) if scale > 1 else frame
        rects, weights = self.hog.detectMultiScale(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), winStride=(8, 8),
                                                   padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return np.zeros((0, 5))
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        keep = cv2.dnn.NMSBoxes([list(map(int, r)) for r in rects], weights.tolist(), self.score_threshold,
                                self.nms_iou)
        keep = np.asarray(keep, dtype=int).reshape(-1)
        h_img, w_img = image.shape[:2]
        out = [[x / w_img, y / h_img, (x + w) / w_img, (y + h) / h_img, weights[i]]
               for i, (x, y, w, h) in ((i, rects[i]) for i in keep)]
        return check_boxes(out, "HOG people detector")


def load_person_detector(spec: str) -> PersonDetector:
    """"hog", or the user's function as "package.module:function" or "path/to/file.py:function"."""
    if spec == "hog":
        return HogPersonDetector()
    source, sep, name = spec.rpartition(":")
    if not sep or not source or not name:
        raise MotionlensError(f"person detector '{spec}': give hog, module:function or file.py:function")
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_file():
            raise MotionlensError(f"person detector file not found: {path}")
        module_spec = importlib.util.spec_from_file_location(f"_motionlens_persons_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)  # the user's own code, named by the user
    else:
        try:
            module = importlib.import_module(source)
        except ImportError as err:
            raise MotionlensError(f"person detector module '{source}' cannot be imported: {err}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise MotionlensError(f"person detector '{spec}': {source} has no function {name}")
    return lambda frame: check_boxes(fn(frame), spec)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) boxes x1, y1, x2, y2 -> (N, M) IoU: the evaluator's `box_iou` (which takes
    y1, x1, y2, x2), with 0 where both boxes are empty."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    yx = [1, 0, 3, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(box_iou(np.asarray(a, float)[:, yx], np.asarray(b, float)[:, yx]))


def track_boxes(per_keyframe: Sequence[np.ndarray], iou_threshold: float = 0.3, max_gap: int = 1) -> list[list[int]]:
    """Track ids for the boxes ((N_k, >=4) arrays) of consecutive keyframes: each box takes the free
    track of highest IoU with that track's last box (missing from at most `max_gap` keyframes) above
    `iou_threshold`, best pairs first; the rest start new tracks (ids 0, 1, ...)."""
    tracks: dict[int, tuple[np.ndarray, int]] = {}  # id -> (last box, keyframe seen)
    result, next_id = [], 0
    for k, boxes in enumerate(per_keyframe):
        boxes = np.asarray(boxes, dtype=np.float64).reshape(len(boxes), -1)[:, :4] if len(boxes) else np.zeros((0, 4))
        alive = [t for t, (_, seen) in tracks.items() if k - seen <= max_gap + 1]
        iou = iou_matrix(boxes, np.array([tracks[t][0] for t in alive]).reshape(-1, 4))
        ids = [-1] * len(boxes)
        for flat in np.argsort(-iou, axis=None, kind="stable"):
            i, j = divmod(int(flat), max(len(alive), 1))
            if iou.size and iou[i, j] >= iou_threshold and ids[i] < 0 and alive[j] is not None:
                ids[i], alive[j] = alive[j], None
        for i in range(len(boxes)):
            if ids[i] < 0:
                ids[i], next_id = next_id, next_id + 1
            tracks[ids[i]] = (boxes[i], k)
        result.append(ids)
    return result
