"""cnn3d_small: small enough to train from scratch on a CPU, any clip size."""

from __future__ import annotations

import torch

from motionlens.models import create_model


def test_parameter_budget():
    params = sum(p.numel() for p in create_model("cnn3d_small").parameters())
    assert 100_000 < params < 1_000_000


def test_default_and_small_clips():
    model = create_model("cnn3d_small", num_classes=4).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 16, 112, 112)).shape == (1, 4)
        assert model(torch.randn(1, 3, 8, 64, 64)).shape == (1, 4)
        assert model(torch.randn(1, 3, 1, 16, 16)).shape == (1, 4)  # ceil-mode pools survive tiny inputs


def test_the_stem_halves_space_and_keeps_every_frame():
    """Small objects need the resolution: the stem subsamples space 2x (not 4x), and the features
    end at 1/16 of the input in space and 1/4 in time."""
    model = create_model("cnn3d_small", num_classes=4).eval()
    with torch.no_grad():
        x = torch.randn(1, 3, 16, 64, 64)
        assert model.stem(x).shape == (1, 16, 16, 32, 32)
        assert model.forward_features(x).shape == (1, 256, 4, 4, 4)
