"""`motionlens demo`: its files and printed figures agree at a tiny size (fast tier), and with a
smaller budget than the real demo's it still learns what the demo is about (slow tier)."""

import json
import re

import pytest

from motionlens.dataprep.synth import _UCF_NAMES
from motionlens.demo import DEMO_MOTIONS, segment_agreement
from tests.conftest import run_cli


def _figures(out, stdout: str) -> tuple[dict, dict]:
    """The test metrics and the long video's agreement, checked against the files beside them and
    against what the command printed."""
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    agreement = json.loads((out / "long_video_agreement.json").read_text())
    prediction = json.loads((out / "long_video.json").read_text())
    truth = json.loads((out / "long_video_truth.json").read_text())
    motion_of = {_UCF_NAMES[m]: m for m in DEMO_MOTIONS}
    assert agreement == json.loads(json.dumps(segment_agreement(truth, prediction["segments"], motion_of)))
    assert [r["label"] for r in agreement["segments"]] == ["move_left", "rotate_cw", "move_right", "rotate_ccw"]
    printed = re.search(r"test video top-1 ([\d.]+)%.*\nlong video: (\d)/4 action segments", stdout)
    assert printed, stdout
    assert float(printed.group(1)) == pytest.approx(100 * metrics["video_top1"], abs=0.05)
    assert int(printed.group(2)) == agreement["segments_right"]
    return metrics, agreement


def test_demo_runs_end_to_end_at_tiny_size(tmp_path):
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", out, "--videos-per-class", "4", "--epochs", "1", "--size", "48x64")
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("eval/report.html", "eval/predictions.csv", "eval/confusion.png", "run/config.yaml",
                 "run/metrics.csv", "run/checkpoints/best.pt", "long_video_annotated.mp4", "long_video.json",
                 "long_video_agreement.json"):
        assert (out / name).is_file(), name
    prediction = json.loads((out / "long_video.json").read_text())
    assert prediction["segments"][0]["start_frame"] == 0
    assert prediction["segments"][-1]["end_frame"] == prediction["frames"]
    metrics, agreement = _figures(out, result.stdout)
    assert metrics["num_videos"] == 8  # 2 test videos per class at 4 videos per class
    assert "1/4 synthesise a dataset" in result.stderr and "test video top-1" not in result.stderr

    again = run_cli("demo", "--out", out)
    assert again.returncode == 2 and "not empty" in again.stderr


@pytest.mark.slow
def test_demo_with_a_small_budget_learns_direction_and_beats_chance(tmp_path):
    # The real demo (40 videos per class, 25 epochs) reached 97.9% and 4/4 segments
    # (benchmarks/RESULTS.md). With 12 videos per class and 10 epochs it reached 56.2% on 16 test
    # videos and 3/4 segments, moving left and right right on every frame: direction is learned
    # first, turning needs the full budget.
    out = tmp_path / "demo"
    result = run_cli("demo", "--out", out, "--videos-per-class", "12", "--epochs", "10")
    assert result.returncode == 0, result.stderr[-2000:]
    metrics, agreement = _figures(out, result.stdout)
    assert metrics["num_videos"] == 16
    assert metrics["video_top1"] >= 0.4, metrics  # chance is 0.25
    rows = {r["label"]: r for r in agreement["segments"]}
    for direction in ("move_left", "move_right"):
        assert rows[direction]["shown"] == direction and rows[direction]["frame_agreement"] >= 0.8, agreement
