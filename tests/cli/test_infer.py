"""`motionlens predict` through the command line, as the console script runs it (`run_cli`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from motionlens.labels import kinetics400_classes
from motionlens.models import create_model
from motionlens.video import count_frames, write_video
from tests.conftest import run_cli as run
from tests.conftest import save_tiny_run


def noise_video(path: Path, num_frames: int, seed: int = 0) -> Path:
    frames = np.random.default_rng(seed).integers(0, 255, (num_frames, 48, 64, 3), dtype=np.uint8)
    return write_video(path, frames, 25.0)


def test_a_corrupt_video_fails_alone_with_one_line(tmp_path):
    save_tiny_run(tmp_path / "run")
    good = noise_video(tmp_path / "good.mp4", 40)
    other = noise_video(tmp_path / "other.mp4", 30, seed=1)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(good.read_bytes()[:3000])  # a header and no more
    out = tmp_path / "preds"
    proc = run("predict", tmp_path / "run", good, corrupt, tmp_path / "missing.mp4", other, "--out", out,
               "--output-video", tmp_path / "annotated", "--smooth", "3", "--threshold", "0.5")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert any("corrupt.mp4" in line for line in errors)
    assert any("missing.mp4" in line and "not found" in line for line in errors)
    assert errors[-1].startswith("error: 2 of 4 videos failed")  # the summary line
    assert "Traceback" not in proc.stderr
    for name, frames in (("good", 40), ("other", 30)):  # the readable videos were still processed
        result = json.loads((out / f"{name}.json").read_text())
        assert result["frames"] == frames and result["label"] in ("jump", "run", "sit")
        assert result["segments"][-1]["end_frame"] == frames and "events" in result
        assert count_frames(tmp_path / "annotated" / f"{name}.mp4") == frames
    assert not (out / "corrupt.json").exists()


def test_kinetics_weights_print_kinetics_names_in_hara_format(tmp_path):
    weights = tmp_path / "x3d_xs_kinetics.pth"
    torch.save(create_model("x3d_xs").state_dict(), weights)  # 400 outputs: the Kinetics head
    video = noise_video(tmp_path / "clip.mp4", 50)
    proc = run("predict", "x3d_xs", video, "--pretrained", weights, "--out", tmp_path / "out", "--format", "hara",
               "--stride", "37", "--eager")  # the deprecated name of --window-stride still works
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("--stride is deprecated; use --window-stride") == 1
    printed = proc.stdout + proc.stderr
    names = kinetics400_classes()
    assert any(f": {name} (" in printed for name in names)  # "clip.mp4: <kinetics class> (0.xx)"
    hara = json.loads((tmp_path / "out" / "clip.json").read_text())
    assert isinstance(hara, list) and hara[0]["video"] == "clip.mp4"
    clips = hara[0]["clips"]
    # X3D's window is 1.6 s, 40 frames at 25 fps, 4 of them spread evenly; the last aligned to the end
    assert [c["segment"] for c in clips] == [[1, 40], [11, 50]]
    assert all(c["label"] in names and len(c["scores"]) == 400 for c in clips)


def test_window_stride_is_the_flag_and_stride_a_hidden_alias():
    for command in ("predict", "watch"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "--window-stride" in proc.stdout and "--stride " not in proc.stdout
    proc = run("predict", "x3d_xs", "clip.mp4", "--window-stride", "8", "--stride", "4")
    assert proc.returncode == 2 and "--stride is the old name of --window-stride" in proc.stderr
