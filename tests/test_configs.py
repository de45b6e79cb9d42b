"""Every recipe in configs/ resolves strictly, names a real model (and weights tag), and its model
takes one batch of the recipe's clips to logits of the right shape."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from motionlens.config import TrainConfig, resolve
from motionlens.models import create_model, get_weights

RECIPES = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))


def test_there_are_recipes():
    assert len(RECIPES) >= 5


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_builds_its_model_and_runs_one_batch(recipe):
    cfg = resolve(TrainConfig, recipe)
    if cfg.model.pretrained:
        assert cfg.model.pretrained in get_weights(cfg.model.name)  # a tag the model really has
    model = create_model(cfg.model.name, num_classes=7, **cfg.model.options).eval()
    clip_len = cfg.data.clip_len or model.cfg.clip_len
    crop = cfg.data.crop_size or model.cfg.crop_size
    x = torch.randn(2, model.in_chans, clip_len, crop, crop)  # (B, C, T, H, W)
    with torch.inference_mode():
        logits = model(x)
    assert logits.shape == (2, 7) and torch.isfinite(logits).all()
