"""Fine-tuning: plain functions (`train_one_epoch`, `fit`) in the style of torchvision's reference
scripts. A run folder holds config.yaml, metrics.csv, curves.png and checkpoints/{last,best,epoch_N}.pt."""

from __future__ import annotations

import csv
import dataclasses
import logging
import math
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from .. import config as config_mod
from ..config import OptimConfig, TrainConfig
from ..data.pipeline import (
    MODALITY_CHANNELS,
    Pipeline,
    load_index,
    make_dataset,
    make_loader,
    resolve_pipeline,
    resolved_data,
    train_drops_last,
)
from ..core.device import autocast_context
from ..core.errors import ConfigError, MotionlensError
from ..core.progress import console, progress_bar
from . import distributed
from .checkpoint import (
    prune_epoch_checkpoints,
    read_training_checkpoint,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .evaluate import eval_protocol, predict_clips
from .metrics import summarize

log = logging.getLogger(__name__)

METRIC_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_clip_top1", "val_video_top1", "val_top5",
                 "val_mean_class_acc", "val_videos", "lr", "clips_per_s", "seconds", "bad_videos"]


def build_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    from ..models import create_model, freeze, get_model_cfg

    cfg = config_mod.fill_recipe(cfg)  # keys left to the recipe (modality decides the input channels)
    options = dict(cfg.model.options)
    channels = MODALITY_CHANNELS.get(cfg.data.modality)
    if channels is None:
        raise ConfigError(f"data.modality must be one of {', '.join(MODALITY_CHANNELS)}, got '{cfg.data.modality}'")
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


def modality_stats(pipe: Pipeline) -> Pipeline:
    """`pipe` with normalisation statistics that fit its modality's channels.

    A model whose weights record holds RGB statistics (3 values) trained on flow (2 channels) or
    RGB + flow (5) gets the flow statistics for the flow channels, instead of a shape error
    inside a DataLoader worker. diff and rgb_diff normalise the RGB frames before differencing: 3 values."""
    from ..data.flow_dataset import FLOW_MEAN, FLOW_STD

    rgb_mean, rgb_std = tuple(pipe.mean[:3]), tuple(pipe.std[:3])
    wanted = {"flow": (tuple(FLOW_MEAN), tuple(FLOW_STD)),
              "rgb+flow": (rgb_mean + tuple(FLOW_MEAN), rgb_std + tuple(FLOW_STD))}.get(pipe.modality)
    if wanted is None or len(pipe.mean) == len(wanted[0]):
        return pipe
    log.info("modality %s: normalising with mean %s, std %s (the model's weights record has %d-channel stats)",
             pipe.modality, wanted[0], wanted[1], len(pipe.mean))
    return replace(pipe, mean=wanted[0], std=wanted[1])


def tsn_frame_stride(index, clip_len: int) -> int:
    """The frame spacing a tsn-trained model saw on a typical (median-length) training video.

    Training spreads `clip_len` frames over each whole video; inference on a long video slides
    windows of `clip_len` frames `frame_stride` apart, so this stride shows the model motion at
    the speed it learned."""
    lengths = [r.segment_frames for r in index.records if r.segment_frames]
    return max(1, round(float(np.median(lengths)) / clip_len)) if lengths else 1


def build_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.Optimizer:
    from ..models import param_groups

    groups = param_groups(model, lr=optim.lr, head_lr=optim.head_lr, weight_decay=optim.weight_decay)
    if optim.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, nesterov=optim.momentum > 0)
    if optim.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=optim.lr)
    raise ConfigError(f"optim.optimizer must be sgd or adamw, got '{optim.optimizer}'")


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
    if optim.scheduler not in ("cosine", "step", "constant"):
        raise ConfigError(f"optim.scheduler must be cosine, step or constant, got '{optim.scheduler}'")

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
    dataset = Path(cfg.data.data.partition(":")[2] or cfg.data.data).name or "data"
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
    state = None
    if resume is not None:
        ckpt_path = resolve_checkpoint(resume, which="last")
        state = read_training_checkpoint(ckpt_path)
        cfg = cfg if cfg is not None else config_mod.from_dict(TrainConfig, state["config"])
        run_dir = ckpt_path.parent.parent
        if state.get("epoch", 0) >= cfg.epochs:
            raise MotionlensError(f"{run_dir} already finished its {cfg.epochs} epochs; to train longer, resume "
                                  f"with --epochs N (N > {state['epoch']})")
    cfg = config_mod.fill_recipe(cfg)
    dist = distributed.init_distributed(cfg.device)
    device = distributed.pick_device(cfg.device, dist)
    torch.manual_seed(cfg.seed)
    if resume is None:
        run_dir = Path(cfg.out) / (cfg.name or default_run_name(cfg))
        taken = dist.is_main and (run_dir / "checkpoints" / "last.pt").exists()
        if distributed.any_rank(taken, dist):  # every rank raises, none waits in a collective
            raise MotionlensError(f"run folder {run_dir} already has checkpoints; use --resume {run_dir} or another --name")
    show = show_progress and dist.is_main

    index = load_index(cfg.data, show_progress=show)
    train_index, val_index = index.subset("train"), index.subset("val")
    if len(train_index) == 0:
        raise MotionlensError(f"no training videos in {cfg.data.data} (split {cfg.data.split})")
    if state is not None and list(state["classes"]) != index.classes:
        raise MotionlensError(f"the checkpoint was trained on {len(state['classes'])} classes but the dataset "
                              f"has {len(index.classes)}; resume with the same --data")

    model = build_model(cfg, index.num_classes)
    pipe = modality_stats(resolve_pipeline(cfg.data, model.cfg))
    if cfg.data.train_sampler == "tsn" and cfg.data.frame_stride is None:
        pipe = replace(pipe, frame_stride=tsn_frame_stride(train_index, pipe.clip_len))
    cfg = dataclasses.replace(cfg, data=resolved_data(cfg.data, pipe))  # config.yaml shows the weights' choices
    if cfg.sync_bn and dist.enabled:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    train_ds = make_dataset(train_index, pipe, train=True, data=cfg.data, seed=cfg.seed)
    val_ds = make_dataset(val_index, pipe, train=False, data=cfg.data, seed=cfg.seed) if len(val_index) else None
    protocol = eval_protocol(pipe, cfg.data)
    per_rank = math.ceil(len(train_ds) / dist.world_size)
    batches = (per_rank // cfg.data.batch_size if train_drops_last(per_rank, cfg.data.batch_size, True)
               else math.ceil(per_rank / cfg.data.batch_size))
    if cfg.max_steps:
        batches = min(batches, cfg.max_steps)
    optimizer = build_optimizer(model, cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.optim, optimizer_steps(batches, cfg.optim.grad_accum), cfg.epochs)
    scaler = build_scaler(device, cfg.optim)
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist.enabled else model

    start_epoch, history = 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, history = state["epoch"], list(state["history"])
        set_rng_state(state["rng"])
    if dist.is_main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        config_mod.save_yaml(cfg, run_dir / "config.yaml")
        console.print(f"run folder: {run_dir}  |  {index.summary()}  |  model {cfg.model.name} on {device}"
                      f"{f' x{dist.world_size}' if dist.enabled else ''}")
        console.print(f"recipe: {config_mod.recipe_name(cfg)} | {cfg.optim.optimizer} lr {cfg.optim.lr:g}, "
                      f"{cfg.epochs} epochs | {pipe.clip_len} frames, {cfg.data.train_sampler} sampler, "
                      f"{pipe.modality}, {pipe.crop_size} px | validation: {protocol}")

    bad_total = 0
    loader = make_loader(train_ds, cfg.data.batch_size, True, cfg.data.num_workers, cfg.seed, dist)
    val_loader = make_loader(val_ds, cfg.data.batch_size, False, cfg.data.num_workers, cfg.seed, dist) \
        if val_ds is not None else None
    for epoch in range(start_epoch, cfg.epochs):
        torch.manual_seed(cfg.seed * 1000 + epoch)  # each epoch is reproducible on its own, so resume is exact
        loader.sampler.set_epoch(epoch)  # the epoch's clips and augmentations: see EpochSampler
        with progress_bar(batches, f"epoch {epoch + 1}/{cfg.epochs}", enabled=show, unit="batch") as advance:
            row = train_one_epoch(ddp_model, loader, optimizer, scheduler, scaler, device, cfg.optim,
                                  cfg.max_steps, advance)
        row.update(epoch=epoch + 1, lr=optimizer.param_groups[0]["lr"])
        row["bad_videos"] = distributed.sum_ranks(row["bad_videos"], dist)  # every rank decides alike
        bad_total += row["bad_videos"]
        if bad_total > cfg.data.max_bad_videos:
            raise MotionlensError(f"{bad_total} undecodable videos so far (limit data.max_bad_videos="
                                  f"{cfg.data.max_bad_videos}); run `motionlens data check {cfg.data.data}`")
        if val_ds is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            row.update(validate(ddp_model, val_loader, cfg, device, dist, index.num_classes, show))
        history.append(row)
        if dist.is_main:
            best_epoch, reason = choose_best(history)
            ckpt = {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch + 1,
                "config": config_mod.to_dict(cfg), "classes": index.classes, "pipeline": pipe.to_dict(),
                "model_name": cfg.model.name, "model_options": model_options(model, cfg),
                "history": history, "best": {"epoch": best_epoch, "reason": reason}, "rng": rng_state(),
            }
            checkpoints = run_dir / "checkpoints"
            save_checkpoint(ckpt, checkpoints / "last.pt")
            if best_epoch == epoch + 1:
                save_checkpoint(ckpt, checkpoints / "best.pt")
            if cfg.save_every and (epoch + 1) % cfg.save_every == 0:
                save_checkpoint(ckpt, checkpoints / f"epoch_{epoch + 1:03d}.pt")
                prune_epoch_checkpoints(checkpoints, cfg.keep_epochs)
            write_metrics(history, run_dir / "metrics.csv")
            _print_epoch(row)
        distributed.barrier(dist)
    if dist.is_main:
        from ..report.plots import plot_curves

        plot_curves(history, run_dir / "curves.png")
    distributed.cleanup(dist)
    return run_dir


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
