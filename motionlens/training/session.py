"""One training run's state: what `fit` sets up before its first epoch (`start_session`) and what
each checkpoint holds (`checkpoint_state`). `fit` (train.py) runs the epochs in between."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from .. import config as config_mod
from ..config import TrainConfig
from ..core.atomic import atomic_write
from ..core.errors import MotionlensError
from ..core.progress import console
from ..data.loader import make_loader, train_drops_last
from ..data.pipeline import load_index, make_dataset
from ..data.spec import InputSpec, resolve_input
from . import distributed
from .checkpoint import (prune_epoch_checkpoints, read_training_checkpoint, resolve_checkpoint, rng_state,
                         save_checkpoint, set_rng_state)
from .evaluate import eval_protocol
from .builders import build_model, build_optimizer, build_scaler, build_scheduler, model_options, optimizer_steps


METRIC_FIELDS = ["epoch", "train_loss", "train_acc", "val_loss", "val_clip_top1", "val_video_top1", "val_top5",
                 "val_mean_class_acc", "val_videos", "lr", "clips_per_s", "seconds", "bad_videos"]


@dataclass
class Session:
    cfg: TrainConfig  # resolved once (`resolve_input`): what config.yaml and every checkpoint hold
    spec: InputSpec
    run_dir: Path
    dist: Any  # distributed.DistInfo
    device: torch.device
    index: Any  # data.records.VideoIndex, every split
    model: nn.Module
    ddp_model: nn.Module  # `model`, wrapped under DDP
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    loader: Any
    val_loader: Any  # None without a validation split
    batches: int  # training batches per epoch
    start_epoch: int
    history: list[dict]
    show: bool  # progress and messages (rank 0 only)


def absolute_paths(cfg: TrainConfig) -> TrainConfig:
    """`cfg` with its relative paths (the dataset's root, annotations, flow_root, out) made absolute
    from the current directory, so a run folder's config works from anywhere."""
    from ..data.index import parse_data_spec

    data = cfg.data
    dataset = data.dataset
    if dataset:
        layout, root = parse_data_spec(dataset)
        dataset = f"{layout}:{root}" if dataset.startswith(f"{layout}:") else str(root)
    absolute = lambda p: str(Path(p).expanduser().absolute()) if p else p  # noqa: E731
    data = replace(data, dataset=dataset, annotations=absolute(data.annotations), flow_root=absolute(data.flow_root))
    return replace(cfg, data=data, out=absolute(cfg.out))


def _resumed(cfg: TrainConfig | None, resume: str | Path) -> tuple[TrainConfig, dict, Path]:
    ckpt_path = resolve_checkpoint(resume, which="last")
    state = read_training_checkpoint(ckpt_path)
    cfg = cfg if cfg is not None else config_mod.from_dict(TrainConfig, state["config"])
    run_dir = ckpt_path.parent.parent
    if state.get("epoch", 0) >= cfg.epochs:
        raise MotionlensError(f"{run_dir} already finished its {cfg.epochs} epochs; to train longer, resume "
                              f"with --epochs N (N > {state['epoch']})")
    return cfg, state, run_dir


def _new_run_dir(cfg: TrainConfig, dist) -> Path:
    run_dir = Path(cfg.out) / (cfg.name or default_run_name(cfg))
    taken = dist.is_main and (run_dir / "checkpoints" / "last.pt").exists()
    if distributed.any_rank(taken, dist):  # every rank raises, none waits in a collective
        raise MotionlensError(f"run folder {run_dir} already has checkpoints; use --resume {run_dir} or another --name")
    return run_dir


def start_session(cfg: TrainConfig | None, resume: str | Path | None, show_progress: bool) -> Session:
    """Everything before the first epoch: the run folder, the resolved config and InputSpec, the
    model, optimiser, scheduler and loaders, restored from `resume`'s last checkpoint when given."""
    state = None
    if resume is not None:
        cfg, state, run_dir = _resumed(cfg, resume)
    else:
        cfg = absolute_paths(cfg)
    dist = distributed.init_distributed(cfg.device)
    device = distributed.pick_device(cfg.device, dist)
    torch.manual_seed(cfg.seed)
    if resume is None:
        run_dir = _new_run_dir(cfg, dist)
    show = show_progress and dist.is_main
    index = load_index(cfg.data, show_progress=show)
    train_index, val_index = index.subset("train"), index.subset("val")
    if len(train_index) == 0:
        raise MotionlensError(f"no training videos in {cfg.data.dataset} (split {cfg.data.split})")
    if state is not None and list(state["classes"]) != index.classes:
        raise MotionlensError(f"the checkpoint was trained on {len(state['classes'])} classes but the dataset "
                              f"has {len(index.classes)}; resume with the same --data")
    model = build_model(cfg, index.num_classes)
    cfg, spec = resolve_input(cfg, model.cfg, train_index)
    if cfg.sync_bn and dist.enabled:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    data, world = cfg.data, dict(rank=dist.rank, world_size=dist.world_size) if dist.enabled else {}
    train_ds = make_dataset(train_index, spec, train=True, data=data, seed=cfg.seed)
    loader = make_loader(train_ds, data.batch_size, True, data.num_workers, cfg.seed, **world)
    val_loader = make_loader(make_dataset(val_index, spec, train=False, data=data, seed=cfg.seed), data.batch_size,
                             False, data.num_workers, cfg.seed, **world) if len(val_index) else None
    per_rank = math.ceil(len(train_ds) / dist.world_size)
    batches = (per_rank // data.batch_size if train_drops_last(per_rank, data.batch_size, True)
               else math.ceil(per_rank / data.batch_size))
    batches = min(batches, cfg.max_steps) if cfg.max_steps else batches
    optimizer = build_optimizer(model, cfg.optim)
    scheduler = build_scheduler(optimizer, cfg.optim, optimizer_steps(batches, cfg.optim.grad_accum), cfg.epochs)
    ddp_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if dist.enabled else model
    session = Session(cfg, spec, run_dir, dist, device, index, model, ddp_model, optimizer, scheduler,
                      build_scaler(device, cfg.optim), loader, val_loader, batches, 0, [], show)
    if state is not None:
        _restore(session, state)
    if dist.is_main:
        _announce(session)
    return session


def _restore(s: Session, state: dict) -> None:
    s.model.load_state_dict(state["model"])
    s.optimizer.load_state_dict(state["optimizer"])
    s.scheduler.load_state_dict(state["scheduler"])
    s.scaler.load_state_dict(state["scaler"])
    s.start_epoch, s.history = state["epoch"], list(state["history"])
    set_rng_state(state["rng"])


def _announce(s: Session) -> None:
    """Write the run folder's config.yaml (the resolved config) and say what is being trained."""
    cfg, spec = s.cfg, s.spec
    (s.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    config_mod.save_yaml(cfg, s.run_dir / "config.yaml")
    console.print(f"run folder: {s.run_dir}  |  {s.index.summary()}  |  model {cfg.model.name} on {s.device}"
                  f"{f' x{s.dist.world_size}' if s.dist.enabled else ''}")
    console.print(f"recipe: {config_mod.recipe_name(cfg)} | {cfg.optim.optimizer} lr {cfg.optim.lr:g}, "
                  f"{cfg.epochs} epochs | {spec.clip_len} frames, {cfg.data.train_sampler} sampler, "
                  f"{spec.modality}, {spec.crop_size} px | validation: {eval_protocol(spec, cfg.data)}")


def checkpoint_state(s: Session, epoch: int, best: tuple[int, str]) -> dict:
    """What every checkpoint of the run holds after `epoch` epochs: weights, optimiser, scheduler and
    RNG state (resume is exact), the resolved config and InputSpec (under "pipeline"), classes, history."""
    return {
        "model": s.model.state_dict(), "optimizer": s.optimizer.state_dict(),
        "scheduler": s.scheduler.state_dict(), "scaler": s.scaler.state_dict(), "epoch": epoch,
        "config": config_mod.to_dict(s.cfg), "classes": s.index.classes, "pipeline": s.spec.to_dict(),
        "model_name": s.cfg.model.name, "model_options": model_options(s.model, s.cfg),
        "history": s.history, "best": {"epoch": best[0], "reason": best[1]}, "rng": rng_state(),
    }


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
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRIC_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def save_epoch(s: Session, epoch: int) -> None:
    """Checkpoints after `epoch` (last.pt, best.pt when it is the best, epoch_N.pt every
    `save_every`, the newest `keep_epochs` kept) and metrics.csv; rank 0 only."""
    best = choose_best(s.history)
    ckpt = checkpoint_state(s, epoch, best)
    checkpoints = s.run_dir / "checkpoints"
    save_checkpoint(ckpt, checkpoints / "last.pt")
    if best[0] == epoch:
        save_checkpoint(ckpt, checkpoints / "best.pt")
    if s.cfg.save_every and epoch % s.cfg.save_every == 0:
        save_checkpoint(ckpt, checkpoints / f"epoch_{epoch:03d}.pt")
        prune_epoch_checkpoints(checkpoints, s.cfg.keep_epochs)
    write_metrics(s.history, s.run_dir / "metrics.csv")
