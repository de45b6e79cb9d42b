"""`motionlens flow` and `motionlens flow-show` run as the installed console script."""

import json

import numpy as np

from motionlens.dataprep.synth import render_clip
from motionlens.video import count_frames, write_video
from tests.conftest import run_cli


def test_flow_cli_extracts_resumes_and_lists_a_corrupt_video(tmp_path):
    root = tmp_path / "data"
    for name in ("move_left", "move_right"):
        for k in range(2):
            frames = render_clip(name, np.random.default_rng(k), 48, 64, 6, 10.0)
            write_video(root / name / f"{name}_{k}.mp4", frames, fps=10)
    (root / "move_left" / "corrupt.mp4").write_bytes(b"\x01not a video" * 200)
    out = tmp_path / "flow"

    first = run_cli("flow", root, "--layout", "folder", "--method", "farneback", "--out", out, "--workers", "2")
    assert first.returncode == 1, first.stderr  # the command was right; some of its work failed
    assert "4 extracted, 0 already done, 1 failed" in first.stdout  # the result; failures are errors
    assert "corrupt.mp4" in first.stderr and "error: 1 of 5 videos failed" in first.stderr
    assert "Traceback" not in first.stderr
    folder = out / "move_right" / "move_right_1"
    assert sorted(p.name for p in folder.glob("flow_x_*")) == [f"flow_x_{k:05d}.jpg" for k in range(1, 6)]
    assert json.loads((folder / "done").read_text())["num_flow_frames"] == 5

    second = run_cli("flow", root, "--layout", "folder", "--out", out)
    assert "0 extracted, 4 already done, 1 failed" in second.stdout and second.returncode == 1

    (root / "move_left" / "corrupt.mp4").unlink()
    third = run_cli("flow", root, "--layout", "folder", "--out", out)
    assert third.returncode == 0, third.stderr

    shown = run_cli("flow-show", folder, "--out", tmp_path / "show", "--images", "2")
    assert shown.returncode == 0, shown.stderr
    assert sorted(p.name for p in (tmp_path / "show").iterdir()) == [
        "flow.mp4", "flow_00001.png", "flow_00005.png", "wheel.png"]
    assert count_frames(tmp_path / "show" / "flow.mp4") == 5


def test_tvl1_without_contrib_or_a_bad_method_is_one_line(tmp_path):
    import cv2

    result = run_cli("flow", tmp_path, "--method", "tvl1", "--out", tmp_path / "f")
    if not hasattr(cv2, "optflow"):
        assert result.returncode == 2 and "pip install motionlens[tvl1]" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    bad = run_cli("flow", tmp_path, "--method", "lucas", "--out", tmp_path / "f")
    assert bad.returncode == 2 and "lucas" in bad.stderr and "Traceback" not in bad.stderr
