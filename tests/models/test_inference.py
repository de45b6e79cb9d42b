"""Inference paths compute the same logits as eager mode."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model
from motionlens.models.inference import METHODS, optimize_for_inference


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["cnn3d_small", "crnn"])
def test_same_logits_as_eager(name, method):
    torch.manual_seed(0)
    model = create_model(name, num_classes=4)
    x = torch.randn(1, 3, 8, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the helper silences TorchScript's notice itself
        runner = optimize_for_inference(model, x, method)
    with torch.inference_mode():
        assert torch.allclose(runner(x), model(x), atol=1e-4)
    assert not model.training


def test_unknown_method():
    with pytest.raises(MotionlensError, match="unknown inference method 'bf16'"):
        optimize_for_inference(create_model("cnn3d_small"), torch.randn(1, 3, 8, 64, 64), "bf16")


def _tiny_predictor(fast: bool):
    from motionlens.data.spec import InputSpec
    from motionlens.deploy.predict import load_predictor

    pipe = InputSpec(clip_len=8, frame_stride=1, target_fps=None, resize=64, crop_size=64,
                    mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    torch.manual_seed(0)
    return load_predictor(create_model("cnn3d_small", num_classes=2), pipeline=pipe, classes=["a", "b"],
                          device="cpu", fast=fast)


def test_predict_fast_path_is_the_torchscript_path_with_the_eager_scores():
    fast, eager = _tiny_predictor(fast=True), _tiny_predictor(fast=False)
    for predictor in (fast, eager):  # a head whose logits are far from 0, the same in both
        torch.manual_seed(1)
        torch.nn.init.normal_(predictor.model.fc.weight, std=10.0)
    windows = [np.random.default_rng(k).integers(0, 256, (8, 64, 80, 3), dtype=np.uint8) for k in range(2)]
    logits = fast.logits(windows)
    assert isinstance(fast._runner._runner.model, torch.jit.ScriptModule)  # traced, in the channels-last wrapper
    assert logits.shape == (2, 2) and torch.allclose(logits, eager.logits(windows), rtol=1e-4, atol=1e-4)
    assert (logits[0] - logits[1]).abs().max() > 0.1  # two windows, two answers: not a constant output
    assert np.allclose(fast(windows), torch.softmax(logits, dim=1).numpy(), atol=1e-6)


def test_predict_runs_eagerly_when_tracing_fails(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise RuntimeError("data-dependent control flow\nmore detail")

    predictor = _tiny_predictor(fast=True)
    monkeypatch.setattr(torch.jit, "trace", refuse)
    with caplog.at_level("WARNING"):
        predictor.warmup(1)
    assert predictor._runner._runner is predictor.model
    assert "tracing SmallCNN3D failed (data-dependent control flow); running it eagerly" in caplog.text
