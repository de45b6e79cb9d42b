"""Inference paths compute the same logits as eager mode."""

from __future__ import annotations

import warnings

import pytest
import torch

from motionlens.errors import MotionlensError
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
