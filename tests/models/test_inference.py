"""Inference paths compute the same logits as eager mode."""

from __future__ import annotations

import warnings

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
    from motionlens.data.pipeline import Pipeline
    from motionlens.deploy.predict import load_predictor

    pipe = Pipeline(clip_len=8, frame_stride=1, target_fps=None, resize=64, crop_size=64,
                    mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    torch.manual_seed(0)
    return load_predictor(create_model("cnn3d_small", num_classes=2), pipeline=pipe, classes=["a", "b"],
                          device="cpu", fast=fast)


def test_predict_fast_path_is_the_torchscript_path():
    predictor = _tiny_predictor(fast=True)
    predictor.warmup(2)
    assert isinstance(predictor._runner._runner.model, torch.jit.ScriptModule)  # traced, in the channels-last wrapper


def test_predict_runs_eagerly_when_tracing_fails(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise RuntimeError("data-dependent control flow\nmore detail")

    predictor = _tiny_predictor(fast=True)
    monkeypatch.setattr(torch.jit, "trace", refuse)
    with caplog.at_level("WARNING"):
        predictor.warmup(1)
    assert predictor._runner._runner is predictor.model
    assert "tracing SmallCNN3D failed (data-dependent control flow); running it eagerly" in caplog.text
