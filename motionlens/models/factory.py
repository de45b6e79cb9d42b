"""`create_model`: a registered builder plus, optionally, weights (timm's `_factory`).

It sits above the registry (`registry.py`: the tables) and weights loading (`weights.py`), so
neither of those needs the other's caller."""

from __future__ import annotations

from pathlib import Path

import torch.nn as nn

from .cfg import for_model
from .registry import get_builder, get_model_cfg
from .weights import file_contract, head_num_classes, load_weights, resolve_weights


def create_model(
    name: str,
    num_classes: int | None = None,
    pretrained: str | Path | bool | None = None,
    **kwargs,
) -> nn.Module:
    """Build model ``name``, optionally loading weights, and return it in train mode.

    ``pretrained`` is ``None``, a weights tag of the model (``"kinetics400"``; ``True`` means the
    default tag), or a path to a ``.pth``/``.pt``/``.safetensors`` file. A file's own class count
    is kept unless ``num_classes`` asks for another; then the weights are loaded and the
    classifier is reset to ``num_classes`` outputs.
    """
    builder = get_builder(name)
    if pretrained is None or pretrained is False:
        return builder(num_classes=num_classes or get_model_cfg(name).num_classes, **kwargs)

    cfg, state_dict = resolve_weights(name, pretrained)
    model = builder(num_classes=cfg.num_classes if cfg else get_model_cfg(name).num_classes, **kwargs)
    # A fine-tuned file (say 2 classes) keeps its trained head: size the head to the file first.
    file_classes = head_num_classes(model, state_dict) or (cfg or get_model_cfg(name)).num_classes
    if cfg is None:  # a bare file: its contract is that of the known weights it matches
        cfg = file_contract(name, file_classes, pretrained)
    if file_classes != model.num_classes:
        model.reset_classifier(file_classes)
    load_weights(model, state_dict, strict=True)
    model.cfg = for_model(cfg, file_classes, getattr(model, "in_chans", cfg.in_chans))
    if num_classes is not None and num_classes != file_classes:
        model.reset_classifier(num_classes)
        model.cfg = for_model(model.cfg, num_classes, model.cfg.in_chans)
    return model
