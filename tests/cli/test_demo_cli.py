import json

from motionlens.cli.demo import segment_agreement
from tests.conftest import run_cli


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
    agreement = json.loads((out / "long_video_agreement.json").read_text())
    assert agreement["num_segments"] == 4 and 0 <= agreement["frame_agreement"] <= 1
    output = result.stdout + result.stderr
    assert "test video top-1" in output and "/4 action segments shown with the right label" in output

    again = run_cli("demo", "--out", out)
    assert again.returncode == 2 and "not empty" in again.stderr


def test_segment_agreement_counts_frames_and_majority_labels():
    truth = [{"label": None, "start_frame": 0, "end_frame": 10},
             {"label": "move_left", "start_frame": 10, "end_frame": 30},
             {"label": "rotate_cw", "start_frame": 30, "end_frame": 40}]
    shown = [{"label": "MoveLeft", "start_frame": 0, "end_frame": 25},
             {"label": "RotateCW", "start_frame": 25, "end_frame": 33},
             {"label": "MoveLeft", "start_frame": 33, "end_frame": 40}]
    result = segment_agreement(truth, shown, {"MoveLeft": "move_left", "RotateCW": "rotate_cw"})
    assert [r["shown"] for r in result["segments"]] == ["move_left", "move_left"]  # the still start is not scored
    assert result["segments"][0]["frame_agreement"] == 15 / 20 and result["segments"][1]["frame_agreement"] == 3 / 10
    assert result["segments_right"] == 1 and result["num_segments"] == 2
    assert result["frame_agreement"] == 18 / 30
