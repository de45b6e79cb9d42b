"""Learning-rate range test (Smith 2017): raise the lr exponentially over a few batches and
watch the loss; suggest the lr where it falls fastest."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ..config import TrainConfig
from ..core.progress import progress_bar
from ..data.loader import make_loader
from ..data.pipeline import load_index, make_dataset
from ..data.spec import resolve_input
from .distributed import DistInfo, pick_device
from .builders import build_model, build_optimizer, build_scaler
from .train import train_step


def suggest_lr(lrs: np.ndarray, losses: np.ndarray) -> float | None:
    """The lr at the steepest descent of the smoothed loss, before its minimum."""
    if len(losses) < 5:
        return None
    stop = int(np.argmin(losses))
    if stop < 2:
        return None
    grads = np.gradient(losses[: stop + 1], np.log(lrs[: stop + 1]))
    return float(lrs[int(np.argmin(grads))])


def lr_find(cfg: TrainConfig, start: float = 1e-6, end: float = 1.0, steps: int = 60,
            plot_path: str | None = None, show_progress: bool = True) -> dict:
    from ..report.plots import plot_lr_find

    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device, DistInfo())
    index = load_index(cfg.data, show_progress=show_progress)
    model = build_model(cfg, index.num_classes).to(device)
    cfg, spec = resolve_input(cfg, model.cfg, index.subset("train"))  # the input `fit` would train on
    dataset = make_dataset(index.subset("train"), spec, train=True, data=cfg.data, seed=cfg.seed)
    optimizer = build_optimizer(model, cfg.optim)
    scaler = build_scaler(device, cfg.optim)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.optim.label_smoothing)
    gamma = (end / start) ** (1 / max(steps - 1, 1))
    lrs, losses, smoothed, best = [], [], 0.0, math.inf
    model.train()
    step = 0
    loader = make_loader(dataset, cfg.data.batch_size, True, cfg.data.num_workers, cfg.seed)
    with progress_bar(steps, "lr-find", enabled=show_progress, unit="step") as advance:
        while step < steps:
            loader.sampler.set_epoch(step)
            for batch in loader:
                lr = start * gamma**step
                for group in optimizer.param_groups:
                    group["lr"] = lr
                # one optimiser step per batch, as training steps (clipping, loss scaling) but without accumulation
                loss, _, _ = train_step(model, batch, criterion, optimizer, scaler, device, cfg.optim)
                smoothed = 0.9 * smoothed + 0.1 * loss.item() if step else loss.item()
                value = smoothed / (1 - 0.9 ** (step + 1)) if step else smoothed
                lrs.append(lr)
                losses.append(value)
                best = min(best, value)
                step += 1
                advance(1, lr=lr, loss=value)
                if step >= steps or value > 4 * best or not math.isfinite(value):
                    break
            if losses and (losses[-1] > 4 * best or not math.isfinite(losses[-1])):
                break
    lrs_a, losses_a = np.array(lrs), np.array(losses)
    suggestion = suggest_lr(lrs_a, losses_a)
    if plot_path:
        plot_lr_find(lrs_a, losses_a, suggestion, plot_path)
    return {"lrs": lrs, "losses": losses, "suggestion": suggestion}
