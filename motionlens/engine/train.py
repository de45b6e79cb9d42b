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
from torch.nn.parallel import DistributedDataParallel

from .. import config as config_mod
from ..config import OptimConfig, TrainConfig
from ..errors import ConfigError, MotionlensError
from ..progress import console, progress_bar
from . import distributed
from .checkpoint import (
    load_checkpoint,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .evaluate import predict_clips
from .metrics import summarize
from .pipeline import (
    MODALITY_CHANNELS,
    load_index,
    make_dataset,
    make_loader,
    resolve_pipeline,
    train_drops_last,
)

log = logging.getLogger(__name__)

METRIC_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_clip_top1", "val_video_top1", "val_top5",
                 "val_mean_class_acc", "lr", "clips_per_s", "seconds", "bad_videos"]


def build_model(cfg: TrainConfig, num_classes: int) -> nn.Module:
    from ..models import create_model, freeze, get_model_cfg

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


def build_optimizer(model: nn.Module, optim: OptimConfig) -> torch.optim.Optimizer:
    from ..models import param_groups

    groups = param_groups(model, lr=optim.lr, head_lr=optim.head_lr, weight_decay=optim.weight_decay)
    if optim.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, nesterov=optim.momentum > 0)
    if optim.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=optim.lr)
    raise ConfigError(f"optim.optimizer must be sgd or adamw, got '{optim.optimizer}'")


def build_scheduler(optimizer, optim: OptimConfig, steps_per_epoch: int, epochs: int):
    """Per-step multiplier: linear warmup from 1/10, then cosine to 0, step decay, or constant."""
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
            return optim.gamma ** ((step // steps_per_epoch) // optim.step_size)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def autocast_context(device: torch.device, enabled: bool):
    """Mixed precision on CUDA only: this CPU has no bf16 and autocast there is far slower."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
    return torch.autocast("cpu", enabled=False)


def train_one_epoch(model, loader, optimizer, scheduler, scaler, device, optim: OptimConfig,
                    max_steps: int | None = None, advance=lambda n=1, **kw: None) -> dict:
    """One pass over `loader`; returns loss, accuracy, clips/s and undecodable-video count."""
    model.train()
    criterion = nn.CrossEntropyLoss(label_smoothing=optim.label_smoothing)
    total_loss, correct, seen, failures = 0.0, 0, 0, 0
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=True)
    for step, batch in enumerate(loader):
        if max_steps is not None and step >= max_steps:
            break
        video = batch["video"].to(device, non_blocking=True).flatten(0, 1)  # (B*K, C, T, H, W)
        labels = batch["label"].to(device).repeat_interleave(batch["video"].shape[1])
        with autocast_context(device, optim.amp):
            logits = model(video)  # (B*K, num_classes)
            loss = criterion(logits.float(), labels)
        scaler.scale(loss / optim.grad_accum).backward()
        if (step + 1) % optim.grad_accum == 0 or step + 1 == len(loader):
            if optim.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), optim.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
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


def fit(cfg: TrainConfig, resume: str | Path | None = None, show_progress: bool = True) -> Path:
    """Train per `cfg` (or continue the run `resume` exactly where its last checkpoint stopped).
    Returns the run folder."""
    state = None
    if resume is not None:
        ckpt_path = resolve_checkpoint(resume, which="last")
        state = load_checkpoint(ckpt_path)
        saved = config_mod.from_dict(TrainConfig, state["config"])
        cfg = config_mod.merge(saved, {"epochs": max(cfg.epochs, saved.epochs)}) if cfg is not None else saved
        run_dir = ckpt_path.parent.parent
        if state.get("epoch", 0) >= cfg.epochs:
            raise MotionlensError(f"{run_dir} already finished its {cfg.epochs} epochs; to train longer, resume "
                                  f"with --epochs N (N > {state['epoch']})")
    dist = distributed.init_distributed(cfg.device)
    device = distributed.pick_device(cfg.device, dist)
    torch.manual_seed(cfg.seed)
    if resume is None:
        run_dir = Path(cfg.out) / (cfg.name or default_run_name(cfg))
        if dist.is_main and (run_dir / "checkpoints" / "last.pt").exists():
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
    pipe = resolve_pipeline(cfg.data, model.cfg)
    if cfg.sync_bn and dist.enabled:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    train_ds = make_dataset(train_index, pipe, train=True, data=cfg.data, seed=cfg.seed)
    val_ds = make_dataset(val_index, pipe, train=False, data=cfg.data, seed=cfg.seed) if len(val_index) else None
    per_rank = math.ceil(len(train_ds) / dist.world_size)
    steps = (per_rank // cfg.data.batch_size if train_drops_last(per_rank, cfg.data.batch_size, True)
             else math.ceil(per_rank / cfg.data.batch_size))
    if cfg.max_steps:
        steps = min(steps, cfg.max_steps)
    optimizer = build_optimizer(model, cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.optim, steps, cfg.epochs)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.optim.amp and device.type == "cuda")
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist.enabled else model

    start_epoch, history, best = 0, [], -1.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, history, best = state["epoch"], list(state["history"]), state["best_metric"]
        set_rng_state(state["rng"])
    if dist.is_main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        config_mod.save_yaml(cfg, run_dir / "config.yaml")
        console.print(f"run folder: {run_dir}  |  {index.summary()}  |  model {cfg.model.name} on {device}"
                      f"{f' x{dist.world_size}' if dist.enabled else ''}")

    bad_total = 0
    for epoch in range(start_epoch, cfg.epochs):
        torch.manual_seed(cfg.seed * 1000 + epoch)  # each epoch is reproducible on its own, so resume is exact
        loader = make_loader(train_ds, cfg.data.batch_size, True, cfg.data.num_workers, cfg.seed, epoch, dist)
        with progress_bar(steps, f"epoch {epoch + 1}/{cfg.epochs}", enabled=show, unit="batch") as advance:
            row = train_one_epoch(ddp_model, loader, optimizer, scheduler, scaler, device, cfg.optim,
                                  cfg.max_steps, advance)
        row.update(epoch=epoch + 1, lr=optimizer.param_groups[0]["lr"])
        bad_total += row["bad_videos"]
        if bad_total > cfg.data.max_bad_videos:
            raise MotionlensError(f"{bad_total} undecodable videos so far (limit data.max_bad_videos="
                                  f"{cfg.data.max_bad_videos}); run `motionlens data check {cfg.data.data}`")
        if val_ds is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
            row.update(validate(ddp_model, val_ds, cfg, device, dist, index.num_classes, show))
        history.append(row)
        if dist.is_main:
            # Best by validation accuracy; epochs without validation never replace a validated best.
            score = row.get("val_video_top1", row["train_acc"] if val_ds is None else None)
            is_best = score is not None and score > best
            best = max(best, score) if score is not None else best
            ckpt = {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": epoch + 1,
                "config": config_mod.to_dict(cfg), "classes": index.classes, "pipeline": pipe.to_dict(),
                "model_name": cfg.model.name, "model_options": model_options(model, cfg),
                "history": history, "best_metric": best, "rng": rng_state(),
            }
            save_checkpoint(ckpt, run_dir / "checkpoints" / "last.pt")
            if is_best:
                save_checkpoint(ckpt, run_dir / "checkpoints" / "best.pt")
            if cfg.save_every and (epoch + 1) % cfg.save_every == 0:
                save_checkpoint(ckpt, run_dir / "checkpoints" / f"epoch_{epoch + 1:03d}.pt")
            write_metrics(history, run_dir / "metrics.csv")
            _print_epoch(row)
        distributed.barrier(dist)
    if dist.is_main:
        from ..report.plots import plot_curves

        plot_curves(history, run_dir / "curves.png")
    distributed.cleanup(dist)
    return run_dir


def validate(model, dataset, cfg: TrainConfig, device, dist, num_classes: int, show: bool) -> dict:
    loader = make_loader(dataset, cfg.data.batch_size, False, cfg.data.num_workers, cfg.seed, 0, dist)
    with progress_bar(len(loader), "  validating", enabled=show, unit="batch") as advance:
        out = predict_clips(model, loader, device, advance, amp=cfg.optim.amp)
    gathered = distributed.all_gather_objects(out, dist)
    probs = np.concatenate([g["probs"] for g in gathered])
    labels = np.concatenate([g["labels"] for g in gathered])
    videos = np.concatenate([g["videos"] for g in gathered])
    loss = float(np.mean(np.concatenate([g["losses"] for g in gathered])))
    m = summarize(probs, labels, videos, num_classes)
    return {"val_loss": loss, "val_clip_top1": m["clip_top1"], "val_video_top1": m["video_top1"],
            "val_top5": m["video_top5"], "val_mean_class_acc": m["mean_class_accuracy"]}


def _print_epoch(row: dict) -> None:
    text = (f"epoch {row['epoch']}: loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} "
            f"lr {row['lr']:.2e} {row['clips_per_s']:.1f} clips/s")
    if "val_video_top1" in row:
        text += f" | val video top1 {row['val_video_top1']:.3f} clip top1 {row['val_clip_top1']:.3f}"
    if row["bad_videos"]:
        text += f" | {row['bad_videos']} undecodable videos replaced"
    console.print(text)
