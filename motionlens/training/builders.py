"""What a training run is made of, from its (resolved) config: the model, the optimiser with its
parameter groups, the learning-rate schedule and the loss scaler."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .. import config as config_mod
from ..config import OptimConfig, TrainConfig
from ..data.pipeline import MODALITY_CHANNELS


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
