"""ONNX export (outputs match PyTorch, dynamic batch, a sidecar) and OpenVINO export folders: int8
calibrated on the run's data behind an accuracy guard, loaded by predict and eval, checked on load."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.deploy.export import export_onnx
from motionlens.models import create_model
from tests.conftest import run_cli, save_tiny_run
from tests.deploy.conftest import run_main


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


def _near_tied_run(trained_run: Path, out: Path) -> Path:
    """The trained run with a classifier whose rows share one huge component: the classes differ
    by a thousandth of it, less than int8 can resolve, so int8 disagrees with fp32 while fp32
    still ranks the classes as the trained model does."""
    state = torch.load(trained_run / "checkpoints" / "best.pt", weights_only=True)
    weight = state["model"]["fc.weight"]  # (K, F)
    common = weight.abs().mean(0, keepdim=True) * 1000.0
    state["model"]["fc.weight"] = common + weight
    from motionlens.training.checkpoint import save_checkpoint

    save_checkpoint(state, out / "checkpoints" / "best.pt")
    return out


@pytest.mark.slow
def test_int8_export_of_a_trained_run_passes_the_guard_and_keeps_test_top1(tiny_trained_run, tmp_path, capsys):
    from motionlens.deploy.runtime_eval import evaluate_runtime
    from motionlens.training.evaluate import evaluate_checkpoint

    out = tmp_path / "int8"
    code, stderr = run_main(["export", tiny_trained_run, "--format", "openvino", "--precision", "int8",
                             "--calibration-clips", "48", "--out", out], capsys)
    assert code == 0, stderr
    meta = json.loads((out / "export.json").read_text())
    assert (meta["format"], meta["format_version"], meta["precision"]) == ("motionlens-openvino", 1, "int8")
    assert meta["calibration"]["clips"] == 48 and meta["calibration"]["data"].startswith("list:")
    assert meta["guard"]["clips"] == 100 and meta["guard"]["top1_agreement"] >= 0.99 and not meta["guard"]["forced"]
    assert meta["classes"] == ["move_down", "move_left", "move_right", "move_up"]
    assert meta["pipeline"]["modality"] == "diff" and meta["input"]["shape"] == [-1, 3, 8, 32, 32]
    assert (out / "model.xml").is_file() and (out / "model.bin").is_file()
    common = dict(split="test", show_progress=False, num_workers=0)
    reference = evaluate_checkpoint(tiny_trained_run, None, tmp_path / "fp32", **common)
    data = meta["calibration"]["data"]
    got = evaluate_runtime(out, data, tmp_path / "eval-int8", **common)
    assert "openvino int8" in got["checkpoint_note"] and got["num_videos"] == reference["num_videos"]
    assert abs(got["video_top1"] - reference["video_top1"]) <= 0.01, (got["video_top1"], reference["video_top1"])
    # the export folder is the model for predict, on the training data's first test video
    video = next(line.split()[0] for line in (Path(data[5:]) / "test.txt").read_text().splitlines())
    code, stderr = run_main(["predict", out, Path(data[5:]) / video, "--out", tmp_path / "pred"], capsys)
    assert code == 0, stderr
    result = json.loads(next((tmp_path / "pred").glob("*.json")).read_text())
    assert result["label"] in meta["classes"] and result["segments"]


@pytest.mark.slow
def test_the_guard_refuses_an_int8_model_that_disagrees(tiny_trained_run, tmp_path, capsys):
    run = _near_tied_run(tiny_trained_run, tmp_path / "tied")
    out = tmp_path / "tied-int8"
    args = ["export", run, "--format", "openvino", "--precision", "int8", "--calibration-clips", "32",
            "--guard-clips", "40", "--out", out]
    code, stderr = run_main(args, capsys)
    assert code == 1
    assert stderr.strip().count("\n") == 0
    assert "error: export refused: int8 agrees with fp32 on" in stderr and "--force" in stderr
    assert not out.exists()  # nothing half-written
    code, stderr = run_main([*args, "--force"], capsys)
    assert code == 0, stderr
    guard = json.loads((out / "export.json").read_text())["guard"]
    assert guard["forced"] is True and guard["top1_agreement"] < 0.99 and guard["clips"] == 40


@pytest.mark.slow
def test_openvino_fp32_export_loads_as_a_predictor_and_matches_torch(tmp_path):
    from motionlens.deploy.export import export_openvino
    from motionlens.deploy.predict import load_predictor

    tiny_run(tmp_path / "run")
    meta = export_openvino(tmp_path / "run", tmp_path / "fp32")  # no data: the guard runs on random clips
    assert meta["guard"]["data"].startswith("random clips") and meta["guard"]["max_logit_error"] < 1e-4
    exported, original = load_predictor(tmp_path / "fp32"), load_predictor(tmp_path / "run", fast=False)
    assert exported.model is None and exported.classes == ["jump", "run", "sit"]
    assert exported.pipeline == original.pipeline
    frames = [np.random.default_rng(i).integers(0, 255, (8, 64, 64, 3), dtype=np.uint8) for i in range(3)]
    assert (exported.logits(frames) - original.logits(frames)).abs().max() < 1e-4
    assert type(exported._runner).__name__ == "OpenVINOBackend" and exported._runner.precision == "fp32"


@pytest.mark.slow
def test_incomplete_or_foreign_export_folders_are_one_line(tmp_path, capsys, make_video):
    from motionlens.deploy.export import export_openvino
    from motionlens.deploy.predict import load_predictor

    tiny_run(tmp_path / "run")
    out = tmp_path / "x"
    export_openvino(tmp_path / "run", out, guard_clips=2)
    video = make_video("clip.mp4", num_frames=12, size=(64, 64))
    meta = json.loads((out / "export.json").read_text())
    (out / "export.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(MotionlensError, match="export format version 99, this motionlens reads version 1"):
        load_predictor(out)
    (out / "export.json").write_text(json.dumps(meta))
    (out / "model.bin").unlink()
    code, stderr = run_main(["predict", out, video, "--out", tmp_path / "p"], capsys)
    assert code == 2 and stderr.strip().count("\n") == 0
    assert "incomplete export (missing model.bin)" in stderr
    (out / "export.json").unlink()
    with pytest.raises(MotionlensError, match=r"incomplete export \(no export.json\)"):
        load_predictor(out)
    code, stderr = run_main(["eval", out, "--data", tmp_path], capsys)
    assert code == 2 and "incomplete export" in stderr and stderr.strip().count("\n") == 0
