"""Tiny inputs shared by the model tests."""

from __future__ import annotations

import torch

from motionlens.models import get_model_cfg

NUM_CLASSES = 7
# Clip lengths a model needs beyond the default rule below: C3D's four temporal poolings need 16.
FRAMES = {"c3d": 16}


def small_input(name: str, seed: int = 0) -> torch.Tensor:
    """A ``(2, C, T, 32, 32)`` clip for model ``name``.

    ``C`` is the model's ``in_chans``; ``T`` is its ``clip_len`` when that is short (stacked-flow
    and per-frame models need exactly that many), else 4. Batch 2: BatchNorm in train mode needs
    more than one value per channel at 1x1x1 outputs.
    """
    cfg = get_model_cfg(name)
    frames = FRAMES.get(name, cfg.clip_len if cfg.clip_len <= 10 else 4)
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(2, cfg.in_chans, frames, 32, 32, generator=generator)
