"""models/profile.py: counting on the meta device agrees with a real model; weights rows carry their contract."""

from __future__ import annotations

import torch

from motionlens.models import create_model
from motionlens.models.profile import model_summary, weights_rows


def test_meta_device_summary_counts_the_real_models_parameters():
    summary = model_summary("cnn3d_small")
    model = create_model("cnn3d_small")
    assert round(summary["params_m"] * 1e6) == sum(p.numel() for p in model.parameters())
    assert summary["input"] == model.cfg.input_size and summary["gmacs"] > 0
    assert next(model.parameters()).device == torch.device("cpu")  # the meta build left the real one alone


def test_weights_rows_name_the_file_and_its_contract():
    rows = weights_rows(["r3d_18", "cnn3d_small"])
    assert [(r["model"], r["weights"], r["classes"], r["download"]) for r in rows] == [
        ("r3d_18", "kinetics400", "400", "yes")]
    assert "16 frames" in rows[0]["time"] and "112" in rows[0]["crop"]
