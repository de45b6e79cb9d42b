"""Synthetic AVA: the annotations say what the pixels do (flash, left/right), and the CLI writes the set."""

import numpy as np

from motionlens.dataprep.synth_ava import Actor, render, synthesize_ava
from motionlens.detect.ava_files import read_annotations, read_labelmap, read_person_boxes
from tests.conftest import run_cli


def test_pixels_follow_the_actions():
    rng = np.random.default_rng(0)
    left = Actor((2, 4, 30, 44), ((1,),) * 3, (100, 100, 100))
    flash = Actor((40, 4, 70, 44), ((2, 3),) * 3, (100, 100, 100))
    frames = render([left, flash], rng, 48, 72, 16, 8.0).astype(int)
    body = frames[:, 40:44, 41:45].mean(axis=(1, 2, 3))  # a corner of the flashing body, below the square
    assert body[2] - body[0] > 50 and body[6] - body[4] > 50  # bright on frames 2-3, 6-7
    square_x = [np.nonzero((f[4:44, 2:30] == 250).all(axis=2).any(axis=0))[0].min() for f in frames[:5]]
    assert sum(np.diff(square_x) == -3) >= 3  # 3 pixels left a frame (once it may wrap around)


def test_written_set_is_consistent(tmp_path):
    data = synthesize_ava(tmp_path, num_videos=4, size=(48, 72), fps=8, duration=4, seed=2)
    problems = []
    train, val = read_annotations(data.train_csv, problems), read_annotations(data.val_csv, problems)
    assert problems == [] and {r.video_id for r in val} == {"synth0003"}
    assert {r.timestamp for r in train} == {1.0, 2.0, 3.0}
    assert read_labelmap(data.labelmap) == {1: "move_left", 2: "move_right", 3: "flash", 4: "bounce"}
    boxes = read_person_boxes(data.val_boxes, problems)
    assert {(b.video_id, b.timestamp, b.box) for b in boxes} == {(r.video_id, r.timestamp, r.box) for r in val}
    for key in {(r.video_id, r.timestamp, r.box) for r in train}:
        actions = {r.action_id for r in train if (r.video_id, r.timestamp, r.box) == key}
        assert actions and not {1, 2} <= actions  # left and right exclude each other


def test_cli_layout_ava(tmp_path):
    proc = run_cli("synth", tmp_path / "s", "--layout", "ava", "--videos-per-class", "1", "--classes", "4",
                   "--size", "48x72", "--fps", "8", "--duration", "3")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "s" / "videos").glob("*.mp4"))) == 4 and "label map" in proc.stdout
