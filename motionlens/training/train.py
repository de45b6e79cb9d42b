"""Fine-tuning: plain functions (`train_step`, `train_one_epoch`, `fit`, `validate`) in the style of
torchvision's reference scripts. `fit` runs the epochs; what comes before the first one (the run
folder, the resolved input, the model and optimiser) and what each checkpoint holds are
`session`'s, the parts a run is made of `builders`'. A run folder holds config.yaml, metrics.csv,
curves.png and checkpoints/{last,best,epoch_N}.pt."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .. import config as config_mod
from ..config import OptimConfig, TrainConfig
from ..core.device import autocast_context
from ..core.errors import MotionlensError
from ..core.progress import console, progress_bar
from ..data.loader import epoch_seed
from . import distributed
from .checkpoint import read_training_checkpoint, resolve_checkpoint
from .evaluate import predict_clips
from .metrics import summarize
from .session import save_epoch, start_session


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
    s = start_session(cfg, resume, show_progress)
    cfg, dist = s.cfg, s.dist
    bad_total = 0
    for epoch in range(s.start_epoch, cfg.epochs):
        torch.manual_seed(epoch_seed(cfg.seed, epoch))  # each epoch is reproducible on its own: resume is exact
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
