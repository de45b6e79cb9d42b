"""ONNX export: outputs match PyTorch, dynamic batch, a sidecar with classes and pipeline."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from motionlens.deploy.export import export_onnx
from motionlens.models import create_model
from tests.conftest import run_cli, save_tiny_run


def tiny_run(path: Path) -> Path:
    return save_tiny_run(path)


def test_onnx_matches_torch_with_a_dynamic_batch(tmp_path):
    import onnxruntime as ort  # in the test extra: these checks must run, never skip
    tiny_run(tmp_path / "run")
    result = export_onnx(tmp_path / "run", tmp_path / "model.onnx")
    assert result["check"] == "onnxruntime" and result["max_abs_diff"] < 1e-4
    assert result["input_shape"] == [1, 3, 8, 64, 64]
    # a batch of 5 (exported with 1) through onnxruntime against the checkpoint's model
    model = create_model("cnn3d_small", num_classes=3)
    model.load_state_dict(torch.load(tmp_path / "run" / "checkpoints" / "best.pt", weights_only=True)["model"])
    x = torch.randn(5, 3, 8, 64, 64)
    with torch.inference_mode():
        expected = model.eval()(x).numpy()
    got = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"video": x.numpy()})[0]
    assert got.shape == (5, 3)
    assert np.abs(got - expected).max() < 1e-4
    sidecar = json.loads((tmp_path / "model.json").read_text())
    assert sidecar["classes"] == ["jump", "run", "sit"] and sidecar["pipeline"]["clip_len"] == 8


def test_without_onnxruntime_the_file_is_still_validated(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now fails
    result = export_onnx(tiny_run(tmp_path / "run").parent.parent, tmp_path / "m.onnx")
    assert result["check"] == "onnx" and "onnxruntime is not installed" in result["message"]
    assert result["max_abs_diff"] is None


def test_export_cli(tmp_path):
    tiny_run(tmp_path / "run")
    out = tmp_path / "exported" / "model.onnx"
    proc = run_cli("export", tmp_path / "run", "--onnx", out, "--opset", "17")
    assert proc.returncode == 0, proc.stderr
    assert out.is_file() and out.with_suffix(".json").is_file()
    assert "onnxruntime output matches PyTorch" in proc.stderr
