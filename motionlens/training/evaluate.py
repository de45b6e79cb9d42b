"""Clip- and video-level evaluation of a trained model, with a confusion matrix, a per-video
prediction table and an HTML report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..core.device import autocast_context
from ..core.errors import MotionlensError
from .metrics import summarize
from .runs import Run, load_run


@torch.no_grad()
def predict_clips(model, loader, device, advance=lambda n=1, **kw: None, amp: bool = False) -> dict:
    """Softmax scores of every clip x crop: {"probs" (N, K), "labels", "videos", "losses" (N,)}."""

    model.eval()
    probs, labels, videos, losses = [], [], [], []
    for batch in loader:
        b, k = batch["video"].shape[:2]
        video = batch["video"].to(device, non_blocking=True).flatten(0, 1)  # (B*K, C, T, H, W)
        with autocast_context(device, amp):
            logits = model(video).float()
        target = batch["label"].repeat_interleave(k)
        p = F.softmax(logits, dim=1).cpu()
        probs.append(p.numpy())
        labels.append(target.numpy())
        videos.append(batch["video_index"].repeat_interleave(k).numpy())
        losses.append(F.cross_entropy(logits.cpu(), target.clamp(min=0), reduction="none").numpy())
        advance(1)
    if not probs:
        raise MotionlensError("nothing to evaluate: the split is empty")
    return {"probs": np.concatenate(probs), "labels": np.concatenate(labels),
            "videos": np.concatenate(videos), "losses": np.concatenate(losses)}


def write_predictions(path: Path, records, classes: list[str], metrics: dict, top_k: int = 5) -> Path:
    """predictions.csv: path, true label, predicted label, top-5 with scores, correct."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "true_label", "predicted_label", "score", "top5", "correct"])
        for vid, scores, label in zip(metrics["video_ids"], metrics["video_scores"], metrics["video_labels"]):
            order = np.argsort(-scores, kind="stable")[:top_k]
            top = ";".join(f"{classes[i]}:{scores[i]:.4f}" for i in order)
            writer.writerow([records[int(vid)].path, classes[label] if label >= 0 else "", classes[order[0]],
                             f"{scores[order[0]]:.4f}", top, int(order[0] == label) if label >= 0 else ""])
    return path


def headline(metrics: dict) -> dict:
    keys = ("clip_top1", "clip_top5", "video_top1", "video_top5", "mean_class_accuracy", "num_videos", "num_clips")
    return {k: metrics[k] for k in keys}


def predict_videos(run: Run, index, device, num_clips: int | None = None, num_crops: int | None = None,
                   show_progress: bool = True, label: str = "") -> dict:
    """Clip scores of `run` on every video of `index` and their video-level summary (`metrics.summarize`)."""
    from ..core.progress import progress_bar
    from ..data.loader import make_loader
    from ..data.pipeline import make_dataset

    data = run.config.data
    dataset = make_dataset(index, run.pipeline, train=False, data=data, num_clips=num_clips, num_crops=num_crops)
    loader = make_loader(dataset, data.batch_size, False, data.num_workers, run.config.seed)
    run.model.to(device)
    with progress_bar(len(loader), label or "evaluating", enabled=show_progress, unit="batch") as advance:
        out = predict_clips(run.model, loader, device, advance)
    return summarize(out["probs"], out["labels"], out["videos"], len(run.classes))


def eval_protocol(spec, data, num_clips: int | None = None, num_crops: int | None = None) -> str:
    """What a validation or evaluation figure was measured on, e.g. "5 clips x 1 crop (16 frames
    every 2, 112 px centre crop)". `data.eval_clips` and `data.eval_crops` own the defaults for
    both validation during training and `motionlens eval`."""
    crops = num_crops or data.eval_crops
    crop = f"{spec.crop_size} px {'centre' if crops == 1 else 'three'} crop"
    if data.train_sampler == "tsn":
        return f"1 clip x {crops} crop{'s' if crops > 1 else ''} ({spec.clip_len} frames spread over the whole video, {crop})"
    clips = num_clips or data.eval_clips
    return (f"{clips} clip{'s' if clips > 1 else ''} x {crops} crop{'s' if crops > 1 else ''} "
            f"({spec.clip_len} frames every {spec.frame_stride}, {crop})")


def default_split(index) -> str:
    """What evaluation reports on: the test split when the dataset has one, else val."""
    return "test" if any(r.split == "test" for r in index.records) else "val"


def default_eval_dir(run_or_checkpoint: str | Path, split: str | None) -> Path:
    """Where eval writes unless told: RUN/eval-SPLIT (RUN: the run folder, or the checkpoint's folder)."""
    base = Path(run_or_checkpoint)
    return (base if base.is_dir() else base.parent) / f"eval-{split or 'default'}"


def evaluate_checkpoint(checkpoint: str | Path, data: str | None, out_dir: str | Path, split: str | None = None,
                        num_clips: int | None = None, num_crops: int | None = None, batch_size: int | None = None,
                        num_workers: int | None = None, device: str = "auto", show_progress: bool = True,
                        annotations: str | None = None, run: Run | None = None) -> dict:
    """Evaluate a run folder or checkpoint on `data` (default: the data it was trained on) and write
    metrics.json, predictions.csv, confusion.png and report.html into `out_dir`. `run`: one
    already loaded (e.g. an export's runtime, `deploy.runtime_eval`), instead of `checkpoint`."""
    from ..data.pipeline import load_index
    from ..report.html import write_report
    from ..report.plots import plot_confusion
    from .distributed import DistInfo, pick_device

    run = run or load_run(checkpoint, data=data, annotations=annotations, batch_size=batch_size, num_workers=num_workers)
    cfg, classes, ckpt_path = run.config, run.classes, run.checkpoint
    index = load_index(cfg.data, show_progress=show_progress)
    if index.classes != classes:
        raise MotionlensError(f"the checkpoint has {len(classes)} classes but {cfg.data.dataset} has "
                              f"{len(index.classes)}; they must match ({classes[:3]}... vs {index.classes[:3]}...)")
    split = split or default_split(index)
    subset = index.subset(split)
    if len(subset) == 0:
        raise MotionlensError(f"split '{split}' of {cfg.data.dataset} has no videos")
    num_clips, num_crops = num_clips or cfg.data.eval_clips, num_crops or cfg.data.eval_crops
    metrics = predict_videos(run, subset, pick_device(device, DistInfo()), num_clips, num_crops, show_progress,
                             f"evaluating {split}")
    if metrics["num_videos"] == 0:
        raise MotionlensError(f"split '{split}' of {cfg.data.dataset} has no labelled videos to score "
                              f"({metrics['num_unlabeled']} without labels); evaluate another --subset")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {**headline(metrics), "split": split, "checkpoint": str(ckpt_path),
              "checkpoint_note": run.note,
              "protocol": eval_protocol(run.pipeline, cfg.data, num_clips, num_crops),
              "num_unlabeled": metrics["num_unlabeled"],
              "clips_per_video": metrics["num_clips"] // max(metrics["num_videos"] * num_crops, 1),
              "crops_per_clip": num_crops,
              "per_class_accuracy": dict(zip(classes, metrics["per_class_accuracy"]))}
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    write_predictions(out_dir / "predictions.csv", subset.records, classes, metrics)
    plot_confusion(metrics["confusion"], classes, out_dir / "confusion.png")
    run_dir = ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else None
    write_report(out_dir / "report.html", result, metrics, subset.records, classes, run_dir=run_dir)
    return result
