"""Frame-mAP exactly as ActivityNet's AVA evaluator (`Evaluation/get_ava_performance.py`) computes it.

The official steps, each kept here because it changes the figure:
- a keyframe is the key "video_id,%04d" of the whole second (902.7 and 902 are one keyframe);
- rows of actions outside the label map are dropped silently (AVA's CSVs hold 80 actions, the
  challenge map 60);
- per keyframe, detections are kept in a heap of (score, action, y1, x1, y2, x2) of at most 50
  entries over all actions (an equal score does not replace the smallest), then sorted by
  descending score with Python's stable sort; ground truth goes through the same heap, unbounded,
  with its 8th column (the person id) read as the score, so boxes run by descending person id,
  which decides which of two equally overlapping boxes a detection takes;
- excluded keyframes are dropped from both sides; detections on keyframes without ground truth
  are scored against none, so they are false positives;
- a detection with y2 <= y1 or x2 <= x1 is dropped;
- per keyframe and action, detections in that order take the ground-truth box of highest IoU
  (the first of equal ones); at IoU >= 0.5 and if that box is still free it is a true positive,
  else a false positive (a duplicate does not fall back to the next best box);
- per action, scores are concatenated in keyframe order and ranked by `np.argsort(scores)[::-1]`
  (numpy's default sort, so tied scores fall as the official run has them); AP is VOC's area
  under the interpolated precision-recall curve; an action with ground truth and no detection
  has AP 0;
- frame-mAP is the mean over actions 1..max label-map id that have ground truth; actions of
  the label map without ground truth are reported as NaN and left out of the mean.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..dataprep.ava_csv import AvaRow

IOU_THRESHOLD = 0.5
DETECTIONS_PER_KEYFRAME = 50


def image_key(video_id: str, timestamp: float) -> str:
    """The official keyframe key: "video,0902" (the whole second)."""
    return "%s,%04d" % (video_id, int(timestamp))


@dataclass
class FrameMapResult:
    """`ap[action_id]` is NaN for an action of the label map without ground truth."""

    frame_map: float
    ap: dict[int, float]
    num_gt: dict[int, int]
    names: dict[int, str]

    def official_metrics(self) -> dict[str, float]:
        """The keys and values that ActivityNet's script prints."""
        out = {"PascalBoxes_Precision/mAP@0.5IOU": self.frame_map}
        for action_id, name in self.names.items():
            out[f"PascalBoxes_PerformanceByCategory/AP@0.5IOU/{name}"] = self.ap[action_id]
        return out


def keyframe_boxes(rows: Iterable[AvaRow], class_ids: set[int], capacity: int) -> dict[str, list[tuple]]:
    """{key: [(score, action_id, y1, x1, y2, x2), ...]} by descending score, the official way."""
    entries: dict[str, list[tuple]] = {}
    for row in rows:
        if class_ids and row.action_id not in class_ids:
            continue
        x1, y1, x2, y2 = row.box
        item = (row.score, row.action_id, y1, x1, y2, x2)
        heap = entries.setdefault(image_key(row.video_id, row.timestamp), [])
        if capacity < 1 or len(heap) < capacity:
            heapq.heappush(heap, item)
        elif row.score > heap[0][0]:
            heapq.heapreplace(heap, item)
    return {key: sorted(heap, key=lambda item: -item[0]) for key, heap in entries.items()}


def box_iou(boxes1: np.ndarray, boxes2: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) boxes y1, x1, y2, x2 -> (N, M) IoU, with the official arithmetic (bit for bit)."""
    y_min1, x_min1, y_max1, x_max1 = np.split(boxes1, 4, axis=1)
    y_min2, x_min2, y_max2, x_max2 = np.split(boxes2, 4, axis=1)
    heights = np.maximum(0.0, np.minimum(y_max1, y_max2.T) - np.maximum(y_min1, y_min2.T))
    widths = np.maximum(0.0, np.minimum(x_max1, x_max2.T) - np.maximum(x_min1, x_min2.T))
    intersection = heights * widths
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    return intersection / (area1[:, None] + area2[None, :] - intersection)


def match_detections(detected: np.ndarray, groundtruth: np.ndarray,
                     threshold: float = IOU_THRESHOLD) -> np.ndarray:
    """(N, 4) detections in rank order, (M, 4) ground truth of one action on one keyframe -> (N,)
    bool true positives (greedy, each detection to its best-IoU box only)."""
    tp = np.zeros(len(detected), dtype=bool)
    if len(detected) == 0 or len(groundtruth) == 0:
        return tp
    iou = box_iou(detected, groundtruth)  # (N, M)
    best = np.argmax(iou, axis=1)
    taken = np.zeros(len(groundtruth), dtype=bool)
    for i, j in enumerate(best):
        if iou[i, j] >= threshold and not taken[j]:
            tp[i] = taken[j] = True
    return tp


def average_precision(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """VOC AP of detections (N,) scores and (N,) bool true positives against `num_gt` boxes."""
    if num_gt == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    ranked = tp.astype(int)[np.argsort(scores)[::-1]]
    true_pos = np.cumsum(ranked)
    false_pos = np.cumsum(1 - ranked)
    precision = np.concatenate([[0.0], true_pos.astype(float) / (true_pos + false_pos), [0.0]])
    recall = np.concatenate([[0.0], true_pos.astype(float) / num_gt, [1.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # non-increasing in recall
    steps = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def _arrays(items: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (N, 4) y1, x1, y2, x2; labels (N,); scores (N,))."""
    boxes = np.array([item[2:6] for item in items], dtype=float).reshape(-1, 4)
    return boxes, np.array([item[1] for item in items], dtype=int), np.array([item[0] for item in items], dtype=float)


def frame_map(labelmap: dict[int, str], groundtruth: Iterable[AvaRow], detections: Iterable[AvaRow],
              excluded: Iterable[tuple[str, int]] = ()) -> FrameMapResult:
    """Frame-mAP at IoU 0.5 of `detections` (rows with scores) against `groundtruth`, over the
    actions of `labelmap` ({id: name}); `excluded` holds (video_id, whole second) keys."""
    class_ids = set(labelmap)
    excluded_keys = {image_key(video, second) for video, second in excluded}
    num_classes = max(class_ids)
    num_gt = np.zeros(num_classes + 1, dtype=int)
    gt = {}
    as_scored = (row._replace(score=1.0 if row.person_id is None else float(row.person_id)) for row in groundtruth)
    for key, items in keyframe_boxes(as_scored, class_ids, 0).items():
        if key not in excluded_keys:
            boxes, labels, _ = gt[key] = _arrays(items)
            np.add.at(num_gt, labels, 1)
    scores: dict[int, list[np.ndarray]] = {c: [] for c in range(1, num_classes + 1)}
    tps: dict[int, list[np.ndarray]] = {c: [] for c in range(1, num_classes + 1)}
    empty = (np.zeros((0, 4)), np.zeros(0, dtype=int), np.zeros(0))
    for key, items in keyframe_boxes(detections, class_ids, DETECTIONS_PER_KEYFRAME).items():
        if key in excluded_keys:
            continue
        boxes, labels, det_scores = _arrays(items)
        valid = (boxes[:, 0] < boxes[:, 2]) & (boxes[:, 1] < boxes[:, 3])
        boxes, labels, det_scores = boxes[valid], labels[valid], det_scores[valid]
        gt_boxes, gt_labels, _ = gt.get(key, empty)
        for c in np.unique(labels):
            mine = labels == c
            scores[c].append(det_scores[mine])
            tps[c].append(match_detections(boxes[mine], gt_boxes[gt_labels == c]))
    ap = {}
    for c in range(1, num_classes + 1):
        joined = (np.concatenate(scores[c]), np.concatenate(tps[c])) if scores[c] else (np.zeros(0), np.zeros(0, bool))
        ap[c] = average_precision(*joined, int(num_gt[c]))
    values = np.array(list(ap.values()))
    mean = float(np.nanmean(values)) if (~np.isnan(values)).any() else float("nan")
    return FrameMapResult(mean, {c: ap.get(c, float("nan")) for c in labelmap},
                          {c: int(num_gt[c]) for c in labelmap}, dict(labelmap))
