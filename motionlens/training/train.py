"""Fine-tuning: plain functions (`train_one_epoch`, `fit`) in the style of torchvision's reference
scripts. A run folder holds config.yaml, metrics.csv, curves.png and checkpoints/{last,best,epoch_N}.pt."""

from __future__ import annotations

import csv
import logging
import math
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .. import config as config_mod
from ..config import OptimConfig, TrainConfig
from ..core.device import autocast_context
from ..core.errors import MotionlensError
from ..core.progress import console, progress_bar
from ..data.loader import sample_seed
from ..data.pipeline import MODALITY_CHANNELS
from . import distributed
from .checkpoint import read_training_checkpoint, resolve_checkpoint
from .evaluate import predict_clips
from .metrics import summarize

log = logging.getLogger(__name__)

METRIC_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_clip_top1", "val_video_top1", "val_top5",
                 "val_mean_class_acc", "val_videos", "lr", "clips_per_s", "seconds", "bad_videos"]


def build_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    """The model `cfg` names, with `num_classes` outputs, its weights, input channels and frozen stages."""
    from ..models import create_model, freeze, get_model_cfg

    options = dict(cfg.model.options)
    # The input channels follow the modality: the config's, else its recipe's (see config.RECIPES).
    channels = MODALITY_CHANNELS[cfg.data.modality or config_mod.recipe(cfg)["data"]["modality"]]
    if "in_chans" not in options and get_model_cfg(cfg.model.name).in_chans != channels:
        options["in_chans"] = channels
    model = create_model(cfg.model.name, num_classes=num_classes, pretrained=cfg.model.pretrained, **options)
    if cfg.model.finetune_from or cfg.model.freeze or cfg.model.freeze_bn:
        freeze(model, finetune_from=cfg.model.finetune_from, freeze=cfg.model.freeze or None,
               freeze_bn=cfg.model.freeze_bn)
    return model


def model_options(model: nn.Module, cfg: TrainConfig) -> dict:
    """Builder arguments that recreate `model` (the config's, plus the input channels it was built with)."""
    options = dict(cfg.model.options)
    if getattr(model, "in_chans", 3) != 3:
        options["in_chans"] = model.in_chans
    return options


def build_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.Optimizer:
    from ..models import param_groups

    groups = param_groups(model, lr=optim.lr, head_lr=optim.head_lr, weight_decay=optim.weight_decay)
    if optim.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, nesterov=optim.momentum > 0)
    return torch.optim.AdamW(groups, lr=optim.lr)  # "adamw": the config allows no other (config.OPTIMIZERS)


def optimizer_steps(num_batches: int, grad_accum: int) -> int:
    """Optimiser steps in an epoch of `num_batches`: one per `grad_accum` batches, and one for a
    partial group at the end (see train_one_epoch)."""
    return math.ceil(num_batches / max(grad_accum, 1))


def build_scheduler(optimizer, optim: OptimConfig, steps_per_epoch: int, epochs: int):
    """Per-optimiser-step multiplier: linear warmup from 1/10, then cosine to 0, step decay, or constant.

    `steps_per_epoch` counts optimiser steps, not batches (`optimizer_steps`), so gradient
    accumulation neither stretches the warmup nor stops the cosine short of 0."""
    total = max(1, steps_per_epoch * epochs)
    warmup = int(optim.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return 0.1 + 0.9 * step / warmup
        if optim.scheduler == "cosine":
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
        if optim.scheduler == "step":
            return optim.gamma ** ((step // max(steps_per_epoch, 1)) // optim.step_size)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_scaler(device: torch.device, optim: OptimConfig) -> torch.amp.GradScaler:
    """Loss scaling for float16 autocast on CUDA; a pass-through elsewhere (bf16 and CPU need none)."""
    return torch.amp.GradScaler(device.type, enabled=optim.amp and device.type == "cuda")


def train_step(model, batch: dict, criterion, optimizer, scaler, device, optim: OptimConfig, group: int = 1,
               update: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward and backward one batch, the loss divided by `group` (the batches one optimiser step
    averages). With `update` (the last batch of a group), clip the gradient norm to
    `optim.grad_clip`, step the optimiser and clear the gradients. Returns the undivided loss,
    the logits (B*K, num_classes) and the labels (B*K,)."""
    video = batch["video"].to(device, non_blocking=True).flatten(0, 1)  # (B*K, C, T, H, W)
    labels = batch["label"].to(device).repeat_interleave(batch["video"].shape[1])
    with autocast_context(device, optim.amp):
        logits = model(video)  # (B*K, num_classes)
        loss = criterion(logits.float(), labels)
    scaler.scale(loss / group).backward()
    if update:
        if optim.grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
    return loss, logits, labels


def train_one_epoch(model, loader, optimizer, scheduler, scaler, device, optim: OptimConfig,
                    max_steps: int | None = None, advance=lambda n=1, **kw: None) -> dict:
    """One pass over `loader` (at most `max_steps` batches); returns loss, accuracy, clips/s and
    the undecodable-video count. The optimiser and scheduler step once per `optim.grad_accum`
    batches, and once for a partial group at the end."""
    model.train()
    criterion = nn.CrossEntropyLoss(label_smoothing=optim.label_smoothing)
    num_batches = len(loader) if max_steps is None else min(len(loader), max_steps)
    accum = max(optim.grad_accum, 1)
    total_loss, correct, seen, failures = 0.0, 0, 0, 0
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    for step, batch in enumerate(loader):
        if step >= num_batches:
            break
        group = min(accum, num_batches - step // accum * accum)  # batches in this optimiser step
        update = (step + 1) % accum == 0 or step + 1 == num_batches
        loss, logits, labels = train_step(model, batch, criterion, optimizer, scaler, device, optim, group, update)
        if update:
            scheduler.step()
        if not torch.isfinite(loss):
            raise MotionlensError(f"training diverged (loss is {loss.item()}); lower optim.lr")
        total_loss += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
        failures += int(batch["failures"].sum())
        advance(1, loss=total_loss / seen, acc=correct / seen)
    seconds = time.perf_counter() - start
    return {"train_loss": total_loss / max(seen, 1), "train_acc": correct / max(seen, 1),
            "clips_per_s": seen / max(seconds, 1e-9), "seconds": seconds, "bad_videos": failures}


def choose_best(history: list[dict]) -> tuple[int, str]:
    """The epoch that best.pt holds, and why, from the metrics rows so far.

    On a small validation split, one epoch's accuracy is mostly luck: 4 of 12 videos right is
    33% but says little more than 2 of 12. So the best epoch is the latest one whose validation
    video top-1 is within one standard error (sqrt(p(1 - p) / n), at least one video) of the
    highest so far: a later epoch that is as good as the data can tell replaces an early lucky
    one. Without validation, the best is the last epoch."""
    validated = [r for r in history if r.get("val_video_top1") is not None]
    if not validated:
        return history[-1]["epoch"], "no validation split: the last epoch"
    top = max(validated, key=lambda r: (r["val_video_top1"], r["epoch"]))
    n = max(int(top.get("val_videos") or 1), 1)
    p = top["val_video_top1"]
    margin = max(math.sqrt(p * (1 - p) / n), 1 / n)
    best = max((r for r in validated if r["val_video_top1"] >= p - margin - 1e-9), key=lambda r: r["epoch"])
    reason = (f"val video top-1 {best['val_video_top1']:.1%} on {n} videos, within one standard error "
              f"({margin:.1%}) of the highest, {p:.1%} at epoch {top['epoch']}; the latest such epoch")
    if best is top:
        reason = (f"highest val video top-1, {p:.1%} on {n} videos; no later epoch within one standard "
                  f"error ({margin:.1%})")
    return best["epoch"], reason


def default_run_name(cfg: TrainConfig) -> str:
    dataset = Path(cfg.data.dataset.partition(":")[2] or cfg.data.dataset).name or "data"
    return f"{cfg.model.name}-{dataset}-{datetime.now():%Y%m%d-%H%M%S}"


def write_metrics(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRIC_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def resume_config(resume: str | Path, *updates: dict) -> TrainConfig:
    """The config a run was trained with, with `updates` applied: only what the caller set
    explicitly (e.g. {"epochs": 20} to extend it), never a default, so a resumed run ends where
    the uninterrupted one would."""
    state = read_training_checkpoint(resolve_checkpoint(resume, which="last"))
    saved = config_mod.from_dict(TrainConfig, state["config"])
    merged: dict = {}
    for update in updates:
        merged = config_mod.deep_update(merged, update)
    return config_mod.merge(saved, merged)


def fit(cfg: TrainConfig | None, resume: str | Path | None = None, show_progress: bool = True) -> Path:
    """Train per `cfg` (or continue the run `resume` exactly where its last checkpoint stopped;
    `cfg` None then means the run's own config, see `resume_config`). Returns the run folder."""
    from .session import save_epoch, start_session

    s = start_session(cfg, resume, show_progress)
    cfg, dist = s.cfg, s.dist
    bad_total = 0
    for epoch in range(s.start_epoch, cfg.epochs):
        torch.manual_seed(sample_seed(cfg.seed, epoch))  # each epoch is reproducible on its own: resume is exact
        s.loader.sampler.set_epoch(epoch)  # the epoch's clips and augmentations: see EpochSampler
        with progress_bar(s.batches, f"epoch {epoch + 1}/{cfg.epochs}", enabled=s.show, unit="batch") as advance:
            row = train_one_epoch(s.ddp_model, s.loader, s.optimizer, s.scheduler, s.scaler, s.device, cfg.optim,
                                  cfg.max_steps, advance)
        row.update(epoch=epoch + 1, lr=s.optimizer.param_groups[0]["lr"])
        row["bad_videos"] = distributed.sum_ranks(row["bad_videos"], dist)  # every rank decides alike
        bad_total += row["bad_videos"]
        if bad_total > cfg.data.max_bad_videos:
            raise MotionlensError(f"{bad_total} undecodable videos so far (limit data.max_bad_videos="
                                  f"{cfg.data.max_bad_videos}); run `motionlens data check {cfg.data.dataset}`")
        if s.val_loader is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            row.update(validate(s.ddp_model, s.val_loader, cfg, s.device, dist, s.index.num_classes, s.show))
        s.history.append(row)
        if dist.is_main:
            save_epoch(s, epoch + 1)
            _print_epoch(row)
        distributed.barrier(dist)
    if dist.is_main:
        from ..report.plots import plot_curves

        plot_curves(s.history, s.run_dir / "curves.png")
    distributed.cleanup(dist)
    return s.run_dir


def validate(model, loader, cfg: TrainConfig, device, dist, num_classes: int, show: bool) -> dict:
    """Validation figures over every video of `loader`'s dataset once, under DDP too (the sampler
    pads the last ranks with repeats, which are dropped here)."""
    with progress_bar(len(loader), "  validating", enabled=show, unit="batch") as advance:
        out = predict_clips(model, loader, device, advance, amp=cfg.optim.amp)
    seen: set[int] = set()
    parts = []
    for g in distributed.all_gather_objects(out, dist):
        fresh = ~np.isin(g["videos"], list(seen))
        seen.update(g["videos"].tolist())
        parts.append({k: v[fresh] for k, v in g.items()})
    probs, labels, videos, losses = (np.concatenate([p[k] for p in parts]) for k in ("probs", "labels", "videos", "losses"))
    m = summarize(probs, labels, videos, num_classes)
    loss = float(np.mean(losses[labels >= 0])) if (labels >= 0).any() else float("nan")
    return {"val_loss": loss, "val_clip_top1": m["clip_top1"], "val_video_top1": m["video_top1"],
            "val_top5": m["video_top5"], "val_mean_class_acc": m["mean_class_accuracy"], "val_videos": m["num_videos"]}


def _print_epoch(row: dict) -> None:
    text = (f"epoch {row['epoch']}: loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} "
            f"lr {row['lr']:.2e} {row['clips_per_s']:.1f} clips/s")
    if "val_video_top1" in row:
        text += (f" | val loss {row['val_loss']:.3f} video top1 {row['val_video_top1']:.3f} "
                 f"({row['val_videos']} videos) clip top1 {row['val_clip_top1']:.3f}")
    if row["bad_videos"]:
        text += f" | {row['bad_videos']} undecodable videos replaced"
    console.print(text)
