"""Accuracy arithmetic on score matrices: plain functions, tested on hand-built cases."""

from __future__ import annotations

import numpy as np


def topk_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Bool (N,): is the true label among the k highest scores? scores (N, K), labels (N,)."""
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return (top == labels[:, None]).any(axis=1)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) counts; rows are true classes, columns predicted."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, predicted), 1)
    return cm


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall per class; NaN for classes with no samples."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


def mean_class_accuracy(cm: np.ndarray) -> float:
    """Mean of per-class recall over the classes that have samples."""
    acc = per_class_accuracy(cm)
    return float(np.nanmean(acc)) if np.isfinite(acc).any() else float("nan")


def video_scores(clip_probs: np.ndarray, video_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average clip (x crop) softmax scores per video: -> (unique video ids, (V, K) mean scores)."""
    ids, inverse = np.unique(video_ids, return_inverse=True)
    sums = np.zeros((len(ids), clip_probs.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, clip_probs)
    counts = np.bincount(inverse, minlength=len(ids))[:, None]
    return ids, sums / counts


def summarize(clip_probs: np.ndarray, clip_labels: np.ndarray, clip_videos: np.ndarray, num_classes: int) -> dict:
    """Clip- and video-level top-1/top-5, mean class accuracy, per-class accuracy and confusion.

    clip_probs (N, K) softmax per clip (and crop); clip_labels, clip_videos (N,). Videos without a
    label (label < 0, e.g. Kinetics' test CSVs) are scored (`video_scores` holds every video, for
    predictions.csv) but never counted: the figures cover `num_videos` labelled videos only, and
    `num_unlabeled` says how many were left out. With no labelled video the figures are NaN."""
    ids, vscores = video_scores(clip_probs, clip_videos)
    first = {v: i for i, v in reversed(list(enumerate(clip_videos)))}
    vlabels = np.array([clip_labels[first[v]] for v in ids], dtype=np.int64)
    labelled, clip_labelled = vlabels >= 0, clip_labels >= 0
    cm = confusion_matrix(vlabels[labelled], vscores[labelled].argmax(1), num_classes)

    def mean(hits: np.ndarray) -> float:
        return float(hits.mean()) if len(hits) else float("nan")

    return {
        "clip_top1": mean(topk_correct(clip_probs[clip_labelled], clip_labels[clip_labelled], 1)),
        "clip_top5": mean(topk_correct(clip_probs[clip_labelled], clip_labels[clip_labelled], 5)),
        "video_top1": mean(topk_correct(vscores[labelled], vlabels[labelled], 1)),
        "video_top5": mean(topk_correct(vscores[labelled], vlabels[labelled], 5)),
        "mean_class_accuracy": mean_class_accuracy(cm),
        "per_class_accuracy": per_class_accuracy(cm).tolist(),
        "confusion": cm,
        "video_ids": ids,
        "video_scores": vscores,
        "video_labels": vlabels,
        "num_videos": int(labelled.sum()),
        "num_unlabeled": int((~labelled).sum()),
        "num_clips": int(clip_labelled.sum()),
    }
