"""Draw predictions on video frames: the current label and score, and a score timeline.

The timeline is a strip along the bottom of the frame: one bar per pixel column, as tall as the
top class's score at that point of the video and coloured by that class, with a cursor at the
current frame. Drawing is OpenCV on uint8 RGB `(H, W, 3)` frames, so colours are given as RGB.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .stream import iter_frames
from .writer import VideoWriter

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_colour(label: str) -> tuple[int, int, int]:
    """A bright colour that is the same for a label in every run (hue from a CRC of the name)."""
    hue = zlib.crc32(label.encode("utf-8")) % 180
    hsv = np.array([[[hue, 200, 255]]], dtype=np.uint8)
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def frame_predictions(segments: Sequence[dict], num_frames: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per-frame `(segment index (N,), labels, scores (S,))` from segments that tile the video."""
    starts = np.array([s["start_frame"] for s in segments], dtype=np.int64)
    which = np.clip(np.searchsorted(starts, np.arange(num_frames), side="right") - 1, 0, len(segments) - 1)
    return which, [s["label"] for s in segments], np.array([s["score"] for s in segments], dtype=np.float64)


def score_strip(labels: Sequence[str], scores: np.ndarray, which: np.ndarray, width: int, height: int) -> np.ndarray:
    """The timeline strip, uint8 RGB `(height, width, 3)`: column x shows the segment playing at
    frame `x / width` of the video, a bar of height score in the label's colour."""
    strip = np.full((height, width, 3), 24, dtype=np.uint8)
    num_frames = len(which)
    columns = np.minimum(((np.arange(width) + 0.5) * num_frames / width).astype(np.int64), num_frames - 1)
    colours = {label: label_colour(label) for label in set(labels)}
    for x, frame in enumerate(columns):
        seg = int(which[frame])
        bar = int(round(float(np.clip(scores[seg], 0, 1)) * (height - 2)))
        if bar > 0:
            strip[height - 1 - bar: height - 1, x] = colours[labels[seg]]
    cv2.line(strip, (0, height // 2), (width - 1, height // 2), (90, 90, 90), 1)  # score 0.5
    return strip


def draw_overlay(image: np.ndarray, label: str, score: float, strip: np.ndarray, position: float) -> np.ndarray:
    """`image` with the label/score box at the top left and `strip` along the bottom, a cursor at
    `position` (0..1 of the video). Returns a new uint8 RGB `(H, W, 3)` array."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.35, h / 480)
    thickness = max(1, int(round(scale * 1.5)))
    text = f"{label} {score:.2f}"
    (tw, th), base = cv2.getTextSize(text, _FONT, scale, thickness)
    pad = max(2, int(4 * scale))
    box = out[: th + base + 2 * pad, : min(w, tw + 2 * pad)]
    box[:] = (box * 0.35).astype(np.uint8)  # darkened background keeps text legible on any frame
    cv2.putText(out, text, (pad, pad + th), _FONT, scale, label_colour(label), thickness, cv2.LINE_AA)
    sh, sw = strip.shape[:2]
    top, left = h - sh - pad, (w - sw) // 2
    region = out[top: top + sh, left: left + sw]
    region[:] = (0.3 * region + 0.7 * strip).astype(np.uint8)
    x = left + int(round(np.clip(position, 0, 1) * (sw - 1)))
    cv2.line(out, (x, top - 2), (x, top + sh + 1), (255, 255, 255), max(1, thickness))
    return out


def annotate_video(video: str | os.PathLike, out: str | os.PathLike, segments: Sequence[dict],
                   fps: float | None = None, num_frames: int | None = None) -> Path:
    """Write `video` to `out` with predictions drawn on every frame, decoding, drawing and
    encoding one frame at a time. Same frame count and rate as the input; H.264 in .mp4 where the
    encoder exists (VideoWriter chooses). `segments` are `predict`'s, tiling the video."""
    from .probe import probe

    if not segments:
        raise ValueError("no segments to draw")
    fps = fps or probe(video).fps
    num_frames = num_frames or int(segments[-1]["end_frame"])
    which, labels, scores = frame_predictions(segments, num_frames)
    strip = None
    with VideoWriter(out, fps) as writer:
        for frame in iter_frames(video):
            h, w = frame.image.shape[:2]
            if strip is None:
                strip = score_strip(labels, scores, which, max(8, w - 2 * max(4, w // 40)), max(8, h // 10))
            seg = int(which[min(frame.index, num_frames - 1)])
            position = frame.index / max(num_frames - 1, 1)
            writer.write(draw_overlay(frame.image, labels[seg], float(scores[seg]), strip, position))
    return Path(out)
