"""Scoring person boxes with a trained detector: on a dataset's keyframes (for evaluation), and on a
video with boxes from a CSV, the HOG people detector or the user's function (`motionlens ava predict`)."""

from __future__ import annotations

from typing import Sequence

import torch

from ..dataprep.ava_csv import AvaRow
from .model import ActionDetector


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
        probs = score_boxes(model, batch["video"].to(device), batch["boxes"].to(device)).cpu()
        for (b, *box), p in zip(batch["boxes"].tolist(), probs):
            k = dataset.keyframes[int(batch["index"][int(b)])]
            rows += [AvaRow(k.video_id, k.timestamp, tuple(box), c, None, float(s)) for c, s in zip(class_ids, p)]
    return rows
