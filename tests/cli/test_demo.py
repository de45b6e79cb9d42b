import json

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
