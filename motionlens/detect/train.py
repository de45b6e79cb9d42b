"""`motionlens ava train`: an action detector from AVA-format data, into a run folder holding
config.yaml, metrics.json and atomic checkpoints (checkpoints/last.pt, checkpoints/best.pt by
validation frame-mAP, scored with ground-truth person boxes)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from .. import config as config_mod
from ..core.atomic import write_text
from ..core.errors import ConfigError, MotionlensError
from ..training.checkpoint import save_checkpoint
from .ava_files import read_annotations, read_exclusions, read_labelmap
from .dataset import AvaDetectionDataset, build_keyframes, collate
from .evaluate import FrameMapResult, frame_map
from .model import ActionDetector, build_detector, detector_state
from .predict import score_dataset


@dataclass
class DetectConfig:
    videos: str = ""  # folder of <video_id>.{mp4,mkv,webm,avi}
    train_csv: str = ""  # AVA annotation CSV to learn from
    val_csv: str = ""  # AVA annotation CSV scored after every epoch ("" : none)
    labelmap: str = ""  # action-list .pbtxt: the actions learned and scored
    exclusions: str = ""  # keyframes left out of validation ("" : none)
    time_offset: float = 0.0  # seconds subtracted from CSV timestamps: 0 for whole movies, 900 for AVA's cut files
    backbone: str = "r3d_18"  # any zoo model with forward_features (r3d_18, resnet3d_50, x3d_xs, cnn3d_small...)
    pretrained: str = ""  # "" (none), a weights tag such as kinetics400, or a weights file
    finetune_from: str = ""  # freeze the backbone's stages before this one ("" : train all)
    freeze_bn: bool = False  # freeze every BatchNorm too (small batches)
    clip_len: int = 8  # frames per clip, centred on the keyframe
    frame_stride: int = 2  # frames between clip frames
    crop_size: int = 112  # frames are resized to crop_size x crop_size (boxes are normalised, so stay valid)
    roi_size: int = 7  # RoIAlign output per box, then max pooled
    dropout: float = 0.5
    epochs: int = 10
    batch_size: int = 8  # keyframes per step
    lr: float = 0.01  # peak learning rate, cosine to 0 over all steps
    optimizer: str = "sgd"  # sgd (momentum 0.9) or adamw
    weight_decay: float = 1e-4
    num_workers: int = 0  # loader processes
    seed: int = 0
    device: str = "cpu"


def _labelled(csv_path: str, labelmap: dict[int, str], problems: list[str]):
    rows = read_annotations(csv_path, problems, labelmap)
    if not rows:
        raise MotionlensError(f"{csv_path}: no usable rows")
    return rows


def make_dataset(cfg: DetectConfig, rows, labelmap: dict[int, str], model: ActionDetector) -> AvaDetectionDataset:
    backbone_cfg = model.backbone.cfg
    return AvaDetectionDataset(build_keyframes(rows, list(labelmap)), cfg.videos, cfg.clip_len, cfg.frame_stride,
                               cfg.crop_size, backbone_cfg.mean, backbone_cfg.std, backbone_cfg.input_scale,
                               cfg.time_offset)


def train_one_epoch(model: ActionDetector, loader, optimizer, scheduler, device: torch.device) -> float:
    """Mean BCE loss over the epoch's steps."""
    model.train()
    total, steps = 0.0, 0
    for batch in loader:
        logits = model(batch["video"].to(device), batch["boxes"].to(device))  # (R, K)
        loss = F.binary_cross_entropy_with_logits(logits, batch["labels"].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        total, steps = total + loss.item(), steps + 1
    return total / max(steps, 1)


def evaluate_detector(model: ActionDetector, dataset: AvaDetectionDataset, labelmap: dict[int, str], truth,
                      excluded, batch_size: int, device: torch.device) -> FrameMapResult:
    """Frame-mAP of the model's scores on the ground-truth boxes of `dataset`."""
    return frame_map(labelmap, truth, score_dataset(model, dataset, list(labelmap), batch_size, device), excluded)


def _optimizer(cfg: DetectConfig, model: ActionDetector, total_steps: int):
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    else:
        raise ConfigError(f"optimizer: expected sgd or adamw, got {cfg.optimizer!r}")
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total_steps, 1))))


def train_detector(cfg: DetectConfig, out: str | os.PathLike, log: Callable[[str], None] = lambda _: None) -> dict:
    """Train, evaluating and checkpointing after each epoch; returns {"history": [...], "best": ...}."""
    for key in ("videos", "train_csv", "labelmap"):
        if not getattr(cfg, key):
            raise ConfigError(f"{key} is required")
    out = Path(out)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    problems: list[str] = []
    labelmap = read_labelmap(cfg.labelmap)
    model = build_detector(cfg.backbone, len(labelmap), cfg.pretrained or None, cfg.finetune_from or None,
                           cfg.freeze_bn, cfg.dropout, cfg.roi_size).to(device)
    train_set = make_dataset(cfg, _labelled(cfg.train_csv, labelmap, problems), labelmap, model)
    val_rows = _labelled(cfg.val_csv, labelmap, problems) if cfg.val_csv else []
    val_set = make_dataset(cfg, val_rows, labelmap, model) if val_rows else None
    excluded = read_exclusions(cfg.exclusions or None, problems)
    for dataset in (train_set, val_set):
        if dataset is not None and dataset.missing:
            log(f"{len(dataset.missing)} videos not found in {cfg.videos}, their keyframes left out: "
                + ", ".join(dataset.missing[:5]) + (", ..." if len(dataset.missing) > 5 else ""))
    for line in problems[:10]:
        log(f"skipped {line}")
    if len(problems) > 10:
        log(f"... {len(problems)} rows skipped in all (e.g. actions outside the label map: AVA's CSVs hold 80)")
    loader = torch.utils.data.DataLoader(train_set, cfg.batch_size, shuffle=True, collate_fn=collate,
                                         num_workers=cfg.num_workers, drop_last=len(train_set) > cfg.batch_size,
                                         generator=torch.Generator().manual_seed(cfg.seed))
    optimizer, scheduler = _optimizer(cfg, model, cfg.epochs * len(loader))
    out.mkdir(parents=True, exist_ok=True)
    config_mod.save_yaml(cfg, out / "config.yaml")
    history, best = [], -1.0
    for epoch in range(1, cfg.epochs + 1):
        loss = train_one_epoch(model, loader, optimizer, scheduler, device)
        entry = {"epoch": epoch, "loss": loss}
        if val_set is not None:
            result = evaluate_detector(model, val_set, labelmap, val_rows, excluded, cfg.batch_size, device)
            entry["frame_map"] = result.frame_map
        history.append(entry)
        log(f"epoch {epoch}/{cfg.epochs} loss {loss:.4f}" + (f" frame_map {entry['frame_map']:.4f}"
                                                           if "frame_map" in entry else ""))
        state = detector_state(model, config_mod.to_dict(cfg), labelmap, epoch=epoch, history=history)
        save_checkpoint(state, out / "checkpoints" / "last.pt")
        score = entry.get("frame_map", -loss)
        if score > best:
            best = score
            save_checkpoint(state, out / "checkpoints" / "best.pt")
        write_text(out / "metrics.json", json.dumps({"history": history}, indent=2) + "\n")
    return {"history": history, "best": best, "run": str(out)}
