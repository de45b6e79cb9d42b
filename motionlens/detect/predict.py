"""Scoring person boxes with a trained detector: on a dataset's keyframes (for evaluation), and on a
video with boxes from a CSV, the HOG people detector or the user's function (`motionlens ava predict`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
import torch

from ..data.transforms import scaled_stats
from ..dataprep.ava_csv import AvaRow
from ..video import VideoWriter, frame_times, frames_at, iter_frames, probe, read_frames
from ..video.annotate import label_colour
from .ava_files import read_person_boxes
from .dataset import load_clip
from .model import ActionDetector
from .persons import check_boxes, load_person_detector, track_boxes


@torch.no_grad()
def score_boxes(model: ActionDetector, clips: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """clips (B, C, T, H, W), boxes (R, 5) -> (R, K) action probabilities."""
    model.eval()
    return torch.sigmoid(model(clips, boxes))


def score_dataset(model: ActionDetector, dataset, class_ids: Sequence[int], batch_size: int,
                  device: torch.device) -> list[AvaRow]:
    """Detection rows (one per box and action, with its probability) for every keyframe of `dataset`."""
    from .dataset import collate

    loader = torch.utils.data.DataLoader(dataset, batch_size, shuffle=False, collate_fn=collate)
    rows = []
    for batch in loader:
        probs = score_boxes(model, batch["video"].to(device), batch["boxes"].to(device)).cpu()  # (R, K)
        first = 0
        for index in batch["index"].tolist():
            k = dataset.keyframes[index]  # its boxes exactly as read, not as float32 tensors
            for box, p in zip(k.boxes, probs[first:first + len(k.boxes)]):
                rows += [AvaRow(k.video_id, k.timestamp, tuple(float(v) for v in box), c, None, float(s))
                         for c, s in zip(class_ids, p)]
            first += len(k.boxes)
    return rows


@dataclass
class KeyframeResult:
    timestamp: float  # seconds of the file + time_offset (the CSV's timestamps)
    time: float  # seconds of the file
    boxes: np.ndarray  # (N, 5) x1, y1, x2, y2, person score, normalised
    probs: np.ndarray  # (N, K) action probabilities
    track_ids: list[int]


def keyframe_times(duration: float, interval: float = 1.0) -> list[float]:
    """Keyframes every `interval` seconds from `interval` on (AVA: 1 Hz), at least one mid-video."""
    times = list(np.arange(interval, duration - 1e-6, interval))
    return [round(float(t), 6) for t in times] or [duration / 2]


def _person_source(persons: str, video_id: str, time_offset: float) -> Callable[[float, np.ndarray], np.ndarray]:
    """(time, frame) -> (N, 5) boxes from a person-box CSV or a person detector spec."""
    if persons.endswith(".csv"):
        problems: list[str] = []
        table: dict[int, list] = {}
        for b in read_person_boxes(persons, problems):
            if b.video_id == video_id:
                table.setdefault(int(b.timestamp), []).append([*b.box, b.score])
        return lambda t, frame: np.asarray(table.get(int(t + time_offset), []), dtype=np.float64).reshape(-1, 5)
    detector = load_person_detector(persons)
    return lambda t, frame: detector(frame)


def detect_video(model: ActionDetector, state: dict, video: Path, persons: str = "hog", interval: float = 1.0,
                 time_offset: float = 0.0) -> list[KeyframeResult]:
    """Person boxes and action probabilities at each keyframe of `video`, with track ids."""
    cfg = state["config"]
    backbone_cfg = model.backbone.cfg
    mean, std = scaled_stats(backbone_cfg.mean, backbone_cfg.std, backbone_cfg.input_scale)
    times = frame_times(video)
    duration = float(times[-1]) + (float(times[-1] - times[-2]) if len(times) > 1 else 0.04)
    boxes_at = _person_source(persons, video.stem, time_offset)
    results = []
    for t in keyframe_times(duration, interval):
        frame = read_frames(video, [frames_at(times, t)])[0]  # (H, W, 3) uint8
        boxes = check_boxes(boxes_at(t, frame))
        probs = np.zeros((0, len(state["labelmap"])))
        if len(boxes):
            clip = load_clip(video, t, cfg["clip_len"], cfg["frame_stride"], cfg["crop_size"], mean, std)
            rois = torch.cat([torch.zeros(len(boxes), 1), torch.as_tensor(boxes[:, :4], dtype=torch.float32)], 1)
            probs = score_boxes(model, clip[None], rois).numpy()
        results.append(KeyframeResult(t + time_offset, t, boxes, probs, []))
    for result, ids in zip(results, track_boxes([r.boxes for r in results])):
        result.track_ids = ids
    return results


def detection_rows(video_id: str, results: list[KeyframeResult], class_ids: Sequence[int]) -> list[AvaRow]:
    """AVA detection rows: one per box and action."""
    return [AvaRow(video_id, r.timestamp, tuple(float(v) for v in box[:4]), c, None, float(p))
            for r in results for box, probs in zip(r.boxes, r.probs) for c, p in zip(class_ids, probs)]


def tracks_json(results: list[KeyframeResult], labelmap: dict[int, str], top_k: int = 3) -> list[dict]:
    """Per person track: its keyframes with box and top actions."""
    names = list(labelmap.values())
    tracks: dict[int, dict] = {}
    for r in results:
        for track_id, box, probs in zip(r.track_ids, r.boxes, r.probs):
            top = np.argsort(-probs, kind="stable")[:top_k]
            tracks.setdefault(track_id, {"track_id": track_id, "keyframes": []})["keyframes"].append(
                {"timestamp": r.timestamp, "box": [round(float(v), 4) for v in box[:4]],
                 "person_score": round(float(box[4]), 4),
                 "actions": {names[i]: round(float(probs[i]), 4) for i in top},
                 "scores": {name: round(float(p), 4) for name, p in zip(names, probs)}})
    return [tracks[k] for k in sorted(tracks)]


def draw_keyframe(image: np.ndarray, result: KeyframeResult, names: Sequence[str], top_k: int = 2) -> np.ndarray:
    """`image` (H, W, 3) uint8 with each person's box, track id and top actions."""
    out = image.copy()
    height, width = out.shape[:2]
    scale = max(0.3, min(height, width) / 600)
    for track_id, box, probs in zip(result.track_ids, result.boxes, result.probs):
        colour = label_colour(f"person {track_id}")
        x1, y1, x2, y2 = (int(round(v)) for v in (box[0] * width, box[1] * height, box[2] * width, box[3] * height))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, max(1, round(2 * scale)))
        lines = [f"#{track_id}"] + [f"{names[i]} {probs[i]:.2f}" for i in np.argsort(-probs, kind="stable")[:top_k]]
        for n, text in enumerate(lines):
            y = min(height - 2, y1 + int((n + 1) * 22 * scale) + 2)
            cv2.putText(out, text, (x1 + 2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour, 1, cv2.LINE_AA)
    return out


def write_annotated(video: Path, out: Path, results: list[KeyframeResult], names: Sequence[str]) -> Path:
    """Every frame of `video` with the boxes and actions of the nearest keyframe."""
    times = np.array([r.time for r in results])
    fps = probe(video).fps or 25.0
    with VideoWriter(out, fps) as writer:
        for frame in iter_frames(video):
            nearest = int(np.argmin(np.abs(times - frame.time))) if len(times) else None
            writer.write(frame.image if nearest is None else draw_keyframe(frame.image, results[nearest], names))
    return out
