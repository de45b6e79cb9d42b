"""Checks every registered model gets for free: parametrised over ``list_models()``."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from motionlens.models import ModelCfg, get_model_cfg, list_models
from tests.models._helpers import NUM_CLASSES, small_input

ALL = list_models()


def test_zoo_has_every_family():
    expected = {
        "r3d_18",
        "mc3_18",
        "r2plus1d_18",
        "resnet3d_10",
        "resnet3d_18",
        "resnet3d_34",
        "resnet3d_50",
        "resnet3d_101",
        "c3d",
        "cnn3d_small",
        "crnn",
        "crnn_resnet18",
        "crnn_resnet50",
        "crnn_resnet152",
        "x3d_xs",
    }
    assert expected <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_forward_gives_finite_logits(name, zoo):
    model = zoo(name).eval()
    with torch.no_grad():
        logits = model(small_input(name))
    assert logits.shape == (2, NUM_CLASSES)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_every_parameter(name, zoo):
    model = zoo(name).train()
    loss = F.cross_entropy(model(small_input(name)), torch.tensor([1, 3]))
    loss.backward()
    params = dict(model.named_parameters())
    no_grad = [n for n, p in params.items() if p.grad is None]
    assert not no_grad, f"no gradient for {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in params.values())
    assert any(p.grad.abs().sum() > 0 for p in params.values())
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("name", ALL)
def test_features_then_head_is_forward(name, zoo):
    model = zoo(name).eval()
    x = small_input(name, seed=1)
    with torch.no_grad():
        features = model.forward_features(x)
        assert torch.allclose(model.forward_head(features), model(x), atol=1e-5)
        pre_logits = model.forward_head(features, pre_logits=True)
    assert pre_logits.shape == (2, model.num_features)


@pytest.mark.parametrize("name", ALL)
def test_reset_classifier_changes_output_width(name, zoo):
    model = copy.deepcopy(zoo(name)).eval()
    model.reset_classifier(3)
    with torch.no_grad():
        assert model(small_input(name)).shape == (2, 3)
    assert model.num_classes == 3 and model.cfg.num_classes == 3
    assert model.cfg.label_names == ()  # Kinetics names no longer describe the outputs


@pytest.mark.parametrize("name", ALL)
def test_stages_cover_parameters_and_end_with_classifier(name, zoo):
    model = zoo(name)
    stages = model.stage_names
    assert isinstance(stages, tuple) and len(stages) >= 2
    uncovered = [n for n, _ in model.named_parameters() if not any(n == s or n.startswith(s + ".") for s in stages)]
    assert not uncovered
    assert stages[-1] == model.classifier_name
    assert isinstance(model.get_classifier(), nn.Linear)
    assert model.get_classifier().out_features == NUM_CLASSES


@pytest.mark.parametrize("name", ALL)
def test_cfg_describes_model(name, zoo):
    cfg = get_model_cfg(name)
    assert isinstance(cfg, ModelCfg) and cfg.name == name
    assert len(cfg.mean) == len(cfg.std) == cfg.in_chans  # 3 for RGB models
    assert cfg.clip_len >= 1 and cfg.crop_size >= 32 and cfg.frame_stride >= 1 and cfg.input_scale in (1.0, 255.0)
    assert cfg.label_names == () or len(cfg.label_names) == cfg.num_classes
    assert zoo(name).cfg.name == name and zoo(name).cfg.num_classes == NUM_CLASSES
