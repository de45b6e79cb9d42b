"""AVA keyframes as training samples: a clip centred on each keyframe, its person boxes and their
multi-hot action labels.

index (keyframes with boxes and labels) -> clip sampler (frames centred on the keyframe's time)
-> decoder (`video.read_frames`, resized to a square while decoding) -> transform (normalise with
the backbone's statistics). Boxes stay normalised, so resizing the whole frame keeps them valid.
No flip: it would swap left and right motions and their labels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..core.errors import MotionlensError
from ..data.transforms import normalize, scaled_stats, to_tensor
from ..dataprep.ava_csv import AvaRow
from ..video import find_video, frame_times, frames_at, read_frames


@dataclass(frozen=True)
class Keyframe:
    video_id: str
    timestamp: float  # seconds in the movie (as in the CSV)
    boxes: np.ndarray  # (N, 4) x1, y1, x2, y2 normalised
    labels: np.ndarray  # (N, num_classes) float 0/1


def build_keyframes(rows: Sequence[AvaRow], class_ids: Sequence[int]) -> list[Keyframe]:
    """Group rows by keyframe and person (person id, else identical box) into multi-hot labels."""
    column = {c: i for i, c in enumerate(class_ids)}
    people: dict[tuple[str, float], dict[object, tuple[tuple, set[int]]]] = {}
    for row in rows:
        if row.action_id not in column:
            continue
        person = row.person_id if row.person_id is not None else row.box
        entry = people.setdefault((row.video_id, row.timestamp), {}).setdefault(person, (row.box, set()))
        entry[1].add(column[row.action_id])
    keyframes = []
    for (video_id, timestamp), persons in people.items():
        boxes = np.array([box for box, _ in persons.values()], dtype=np.float64).reshape(-1, 4)
        labels = np.zeros((len(persons), len(column)), dtype=np.float32)
        for i, (_, actions) in enumerate(persons.values()):
            labels[i, sorted(actions)] = 1.0
        keyframes.append(Keyframe(video_id, timestamp, boxes, labels))
    return keyframes


def clip_indices(times: np.ndarray, t: float, clip_len: int, frame_stride: int) -> list[int]:
    """`clip_len` frame indices every `frame_stride` frames, centred on the frame shown at `t`,
    clamped to the video (the first or last frame repeats near the ends)."""
    centre = frames_at(times, t)
    offsets = (np.arange(clip_len) - clip_len // 2) * frame_stride
    return [int(i) for i in np.clip(centre + offsets, 0, len(times) - 1)]


def load_clip(path: Path, t: float, clip_len: int, frame_stride: int, crop_size: int, mean: Sequence[float],
              std: Sequence[float]) -> torch.Tensor:
    """(C, T, S, S) clip centred on `t` (seconds of the file), resized to S x S and normalised
    with [0, 1]-scale statistics."""
    indices = clip_indices(frame_times(path), t, clip_len, frame_stride)
    frames = read_frames(path, indices, size=(crop_size, crop_size))  # (T, S, S, C) uint8
    return normalize(to_tensor(frames), mean, std)


class AvaDetectionDataset(torch.utils.data.Dataset):
    """Samples {"video": (C, T, S, S) float, "boxes": (N, 4), "labels": (N, K), "index": i}.

    Keyframes of videos missing from `videos` are left out and listed in `missing`."""

    def __init__(self, keyframes: list[Keyframe], videos: str | os.PathLike, clip_len: int, frame_stride: int,
                 crop_size: int, mean: Sequence[float], std: Sequence[float], input_scale: float = 1.0,
                 time_offset: float = 0.0) -> None:
        self.videos = Path(videos)
        self.paths: dict[str, Path] = {}
        self.missing = sorted({k.video_id for k in keyframes if self._path(k.video_id) is None})
        self.keyframes = [k for k in keyframes if k.video_id in self.paths]
        if keyframes and not self.keyframes:
            raise MotionlensError(f"none of the {len(self.missing)} videos is in {videos} "
                                  f"(looked for {self.missing[0]}.mp4 and other extensions)")
        self.clip_len, self.frame_stride, self.crop_size = clip_len, frame_stride, crop_size
        self.mean, self.std = scaled_stats(mean, std, input_scale)
        self.time_offset = time_offset

    def _path(self, video_id: str) -> Path | None:
        if video_id not in self.paths:
            path = find_video(self.videos, video_id)
            if path is None:
                return None
            self.paths[video_id] = path
        return self.paths[video_id]

    def __len__(self) -> int:
        return len(self.keyframes)

    def clip(self, video_id: str, timestamp: float) -> torch.Tensor:
        """(C, T, S, S) normalised clip centred on `timestamp` (movie seconds)."""
        return load_clip(self.paths[video_id], timestamp - self.time_offset, self.clip_len, self.frame_stride,
                         self.crop_size, self.mean, self.std)

    def __getitem__(self, i: int) -> dict:
        k = self.keyframes[i]
        return {"video": self.clip(k.video_id, k.timestamp), "boxes": torch.from_numpy(k.boxes).float(),
                "labels": torch.from_numpy(k.labels), "index": i}


def collate(samples: list[dict]) -> dict:
    """Clips stacked (B, C, T, H, W); boxes (R, 5) with the batch index first; labels (R, K)."""
    boxes = [torch.cat([torch.full((len(s["boxes"]), 1), float(b)), s["boxes"]], dim=1) for b, s in enumerate(samples)]
    return {"video": torch.stack([s["video"] for s in samples]), "boxes": torch.cat(boxes),
            "labels": torch.cat([s["labels"] for s in samples]), "index": torch.tensor([s["index"] for s in samples])}
