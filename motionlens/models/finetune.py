"""Fine-tuning helpers: freeze stages, keep BatchNorm frozen across ``train()``, optimizer param groups."""

from __future__ import annotations

import types
from collections.abc import Iterable

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..core.errors import MotionlensError


def stages_of(model: nn.Module) -> tuple[str, ...]:
    """The model's ordered stage names (classifier last); top-level children for foreign modules."""
    stages = tuple(getattr(model, "stage_names", ()) or ())
    return stages or tuple(name for name, _ in model.named_children())


def head_name(model: nn.Module) -> str:
    """Module prefix of the classifier head."""
    return getattr(model, "classifier_name", None) or stages_of(model)[-1]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _frozen_bn_train(self: nn.Module, mode: bool = True) -> nn.Module:
    # Bound onto frozen BN instances: a parent's .train() recurses into children through
    # child.train(mode), so this keeps them in eval mode whatever the caller asks for.
    return nn.Module.train(self, False)


def set_bn_eval(module: nn.Module) -> int:
    """Put every BatchNorm in ``module`` in eval mode for good (survives ``model.train()``); returns the count."""
    count = 0
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            m.train = types.MethodType(_frozen_bn_train, m)
            m.train(False)
            count += 1
    return count


def freeze(
    model: nn.Module,
    finetune_from: str | None = None,
    freeze: Iterable[str] | None = None,
    freeze_bn: bool = False,
) -> nn.Module:
    """Freeze parts of ``model`` in place and return it.

    ``finetune_from="layer4"`` freezes every stage before ``layer4`` in ``model.stage_names``;
    ``freeze=[...]`` freezes the listed stages or module prefixes (the classifier only when listed);
    ``freeze_bn=True`` also freezes every BatchNorm (eval mode and affine parameters).
    BatchNorms inside frozen stages are put in eval mode too, so a frozen stage computes the same
    function during training. Only ever freezes: already-frozen parameters stay frozen.
    """
    stages = stages_of(model)
    frozen: list[str] = []
    if finetune_from is not None:
        if finetune_from not in stages:
            raise MotionlensError(
                f"finetune_from={finetune_from!r} is not a stage of {_model_name(model)}; stages: {', '.join(stages)}"
            )
        frozen += stages[: stages.index(finetune_from)]
    module_names = {name for name, _ in model.named_modules()}
    for prefix in freeze or ():
        if prefix not in stages and prefix not in module_names:
            raise MotionlensError(
                f"cannot freeze {prefix!r}: not a stage or module of {_model_name(model)}; stages: {', '.join(stages)}"
            )
        frozen.append(prefix)

    for name, param in model.named_parameters():
        if any(_under(name, prefix) for prefix in frozen):
            param.requires_grad_(False)
    for name, module in model.named_modules():
        if isinstance(module, _BatchNorm) and (freeze_bn or any(_under(name, p) for p in frozen)):
            set_bn_eval(module)
            for param in module.parameters():
                param.requires_grad_(False)
    return model


def param_groups(
    model: nn.Module,
    lr: float,
    head_lr: float | None = None,
    weight_decay: float = 0.0,
) -> list[dict]:
    """Optimizer groups ``[backbone, head]`` of trainable parameters, BN and biases without decay.

    Returns ``[{"params", "lr", "weight_decay", "name": "backbone"}, {... "name": "head"}]``; when
    ``weight_decay > 0`` two more groups (``backbone_no_decay``, ``head_no_decay``) follow, holding
    the 1-d parameters (BN affine, biases) with ``weight_decay=0``. Empty extra groups are dropped.
    """
    head = head_name(model)
    buckets: dict[str, list] = {"backbone": [], "head": [], "backbone_no_decay": [], "head_no_decay": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        part = "head" if _under(name, head) else "backbone"
        no_decay = weight_decay > 0 and param.ndim <= 1  # BN weight/bias and every bias are 1-d
        buckets[part + ("_no_decay" if no_decay else "")].append(param)
    lrs = {"backbone": lr, "head": head_lr if head_lr is not None else lr}
    groups = [
        {"params": buckets[p], "lr": lrs[p], "weight_decay": weight_decay, "name": p} for p in ("backbone", "head")
    ]
    for part in ("backbone", "head"):
        if buckets[part + "_no_decay"]:
            groups.append(
                {
                    "params": buckets[part + "_no_decay"],
                    "lr": lrs[part],
                    "weight_decay": 0.0,
                    "name": part + "_no_decay",
                }
            )
    return groups


def _model_name(model: nn.Module) -> str:
    return getattr(getattr(model, "cfg", None), "name", type(model).__name__)
