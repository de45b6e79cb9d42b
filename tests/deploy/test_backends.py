"""Runtimes behind one call: each backend and precision this CPU runs reproduces fp32, `auto`
picks what is installed and native, and what cannot run is one line."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.deploy import backends
from motionlens.deploy.backends import (MODULE_CHOICES, OpenVINOBackend, TorchBackend, UnsupportedPrecision,
                                        module_backend, pick, to_openvino)
from motionlens.models import create_model
from tests.deploy.conftest import run_main
from tests.conftest import save_tiny_run

NATIVE_BF16 = backends.native_bf16()


def _model_and_clips():
    torch.manual_seed(0)
    model = create_model("cnn3d_small", num_classes=5).eval()
    with torch.no_grad():  # a trained-like BatchNorm, so outputs are not all near zero
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_var.uniform_(0.5, 2.0)
    return model, torch.randn(3, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.mark.slow
def test_openvino_fp32_matches_torch_and_takes_any_batch():
    model, x = _model_and_clips()
    with torch.inference_mode():
        expected = model(x)
    backend = OpenVINOBackend(to_openvino(model, x[:1]), "fp32")  # converted with a batch of 1
    got = backend(x)
    assert got.shape == (3, 5) and got.dtype == torch.float32
    assert (got - expected).abs().max() < 1e-4
    assert (backend(x[:2]) - expected[:2]).abs().max() < 1e-4


def test_torch_fp32_backend_is_the_traced_model():
    model, x = _model_and_clips()
    with torch.inference_mode():
        expected = model(x)
    backend = TorchBackend(model, "fp32", fast=True)
    assert (backend(x) - expected).abs().max() < 1e-4
    assert isinstance(backend._runner.model, torch.jit.ScriptModule)


@pytest.mark.skipif(not NATIVE_BF16, reason="bf16 runs only on CPUs with native bf16 (the refusal is tested below)")
@pytest.mark.parametrize("name", ["torch", "openvino"])
def test_bf16_backends_stay_close_to_fp32(name):
    model, x = _model_and_clips()
    with torch.inference_mode():
        expected = model(x)
    backend = module_backend(model, x[:1], name, "bf16")
    assert (backend.name, backend.precision) == (name, "bf16")
    err = (backend(x) - expected).abs().max() / expected.abs().max()
    assert 0 < err < 0.05  # bf16 has 8 bits of mantissa: not exact, but close


def test_auto_runs_a_module_in_torch_fp32_and_openvino_when_asked():
    assert pick("auto", "auto", MODULE_CHOICES) == ("torch", "fp32")
    assert pick("openvino", "auto", MODULE_CHOICES) == ("openvino", "fp32")
    if NATIVE_BF16:
        assert pick("auto", "bf16", MODULE_CHOICES) == ("torch", "bf16")


def test_bf16_without_native_support_is_one_line_exit_2(monkeypatch, tmp_path, make_video, capsys):
    monkeypatch.setattr(backends, "native_bf16", lambda: False)
    for backend in ("auto", "torch", "openvino"):
        with pytest.raises(UnsupportedPrecision, match="no native bf16") as err:
            pick(backend, "bf16", MODULE_CHOICES)
        assert err.value.exit_code == 2
    save_tiny_run(tmp_path / "run")
    video = make_video("clip.mp4", num_frames=20, size=(64, 64))
    code, stderr = run_main(["predict", tmp_path / "run", video, "--precision", "bf16", "--out", tmp_path / "p"], capsys)
    assert code == 2
    assert stderr.strip().count("\n") == 0 and "error: --precision bf16: this CPU has no native bf16" in stderr
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").glob("*.json"))


def test_int8_is_openvino_only():
    with pytest.raises(UnsupportedPrecision, match="int8 runs on OpenVINO only"):
        pick("torch", "int8", MODULE_CHOICES)
    with pytest.raises(MotionlensError):
        pick("auto", "int8", MODULE_CHOICES)  # a module has no int8 form: an export has
    model, x = _model_and_clips()
    with pytest.raises(UnsupportedPrecision, match="needs an int8 export"):
        module_backend(model, x[:1], "auto", "int8")


def test_without_openvino_one_line_names_the_extra(monkeypatch, tmp_path, make_video, capsys):
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` now fails
    with pytest.raises(MotionlensError, match=r'pip install "motionlens\[openvino\]"'):
        pick("openvino", "auto", MODULE_CHOICES)
    assert pick("auto", "auto", MODULE_CHOICES) == ("torch", "fp32")  # auto still runs
    save_tiny_run(tmp_path / "run")
    video = make_video("clip.mp4", num_frames=20, size=(64, 64))
    code, stderr = run_main(["predict", tmp_path / "run", video, "--backend", "openvino", "--out", tmp_path / "p"],
                            capsys)
    assert code == 2
    assert stderr.strip() == 'error: OpenVINO is not installed: pip install "motionlens[openvino]"'
    code, stderr = run_main(["export", tmp_path / "run", "--format", "openvino", "--out", tmp_path / "x"], capsys)
    assert code == 2 and 'pip install "motionlens[openvino]"' in stderr


@pytest.mark.slow
def test_each_backend_and_precision_reproduces_fp32_test_top1(tiny_trained_run, tmp_path):
    from motionlens.deploy.runtime_eval import evaluate_runtime
    from motionlens.training.evaluate import evaluate_checkpoint

    common = dict(split="test", show_progress=False, num_workers=0)
    reference = evaluate_checkpoint(tiny_trained_run, None, tmp_path / "fp32", **common)
    assert reference["video_top1"] >= 0.6  # learned (chance 0.25), so agreement means something
    combos = [("openvino", "fp32")] + ([("torch", "bf16"), ("openvino", "bf16")] if NATIVE_BF16 else [])
    for name, precision in combos:
        result = evaluate_runtime(tiny_trained_run, None, tmp_path / f"{name}-{precision}", name, precision, **common)
        assert result["num_videos"] == reference["num_videos"]
        assert abs(result["video_top1"] - reference["video_top1"]) <= 0.01, (name, precision, result["video_top1"])
        assert f"{name} {precision}" in result["checkpoint_note"]
