"""Hara's annotation JSON: written from any index, read back as the "hara" layout."""

import json
from dataclasses import replace

import cv2
import pytest

from motionlens.data.hara_json import parse_hara_json
from motionlens.data.index import build_index
from motionlens.dataprep.hara import hara_n_frames, read_n_frames, write_hara_json, write_n_frames
from motionlens.core.errors import MotionlensError
from motionlens.video import write_video
from tests.conftest import pattern_frames, run_cli

CLASSES = ("jump", "wave")
SPLITS = ("train", "val", "test")


@pytest.fixture
def video_root(tmp_path):
    root = tmp_path / "videos"
    for c, name in enumerate(CLASSES):
        for i in range(3):
            write_video(root / name / f"v_{name}_{i}.mp4", pattern_frames(8 + i, (32, 48), seed=10 * c + i), 10.0)
    return root


@pytest.fixture
def frames_root(tmp_path):
    root = tmp_path / "frames"
    for name in CLASSES:
        for i in range(2):
            folder = root / name / f"{name}_{i}"
            folder.mkdir(parents=True)
            for t, frame in enumerate(pattern_frames(5 + i, (16, 16))):
                cv2.imwrite(str(folder / f"image_{t + 1:05d}.jpg"), frame)
    return root


def with_splits(index):
    """Spread each class's videos over train / val / test."""
    order = {}
    records = []
    for r in sorted(index.records, key=lambda r: r.path):
        k = order.setdefault(r.class_name, 0)
        order[r.class_name] += 1
        records.append(replace(r, split=SPLITS[k % 3]))
    return replace(index, records=records)


def summary(index):
    return sorted((r.path, r.class_name, r.split, r.num_frames) for r in index)


def test_round_trip_keeps_videos_classes_and_splits(video_root, tmp_path):
    index = with_splits(build_index(f"folder:{video_root}", cache=False))
    result = write_hara_json(index, tmp_path / "ann.json")
    assert result["subsets"] == {"training": 2, "validation": 2, "testing": 2} and result["misplaced"] == []

    data = json.loads((tmp_path / "ann.json").read_text())
    assert data["labels"] == list(CLASSES)
    assert data["database"]["v_wave_2"] == {"subset": "testing",
                                            "annotations": {"label": "wave", "segment": [1, 11]}}

    back = build_index(f"hara:{video_root}", annotations=tmp_path / "ann.json", cache=False)
    assert back.layout == "hara" and back.classes == index.classes
    assert summary(back) == summary(index)
    assert all(r.label == back.classes.index(r.class_name) for r in back)
    assert not back.report.listed_missing and not back.report.unlisted


def test_json_beside_the_videos_is_found_and_auto_detected(video_root):
    index = build_index(f"folder:{video_root}", cache=False)
    write_hara_json(index, video_root / "ucf101_01.json", subsets={"test": "validation"})
    assert summary(build_index(video_root / "ucf101_01.json", cache=False)) == summary(index)  # a .json is hara
    assert len(parse_hara_json(video_root).entries) == 6  # found in root without --annotations


def test_frame_folders_and_n_frames(frames_root, tmp_path):
    index = build_index(f"folder:{frames_root}", cache=False)
    assert write_n_frames(index) == 4
    assert read_n_frames(frames_root / "wave" / "wave_1") == 6
    (frames_root / "jump" / "jump_0" / "n_frames").write_text("4")  # Hara's count wins where present
    assert hara_n_frames(next(r for r in index if r.path.endswith("jump_0"))) == 4

    write_hara_json(index, tmp_path / "ann.json")
    database = json.loads((tmp_path / "ann.json").read_text())["database"]
    assert database["jump_0"]["annotations"]["segment"] == [1, 5]
    assert database["wave_1"]["annotations"]["segment"] == [1, 7]
    back = build_index(f"hara:{frames_root}", annotations=tmp_path / "ann.json", cache=False)
    assert summary(back) == summary(index) and back.failures == []


def test_reads_hara_json_as_his_scripts_write_it(video_root, tmp_path):
    write_video(video_root / "test" / "unlabelled.mp4", pattern_frames(10, (32, 48)), 10.0)
    (tmp_path / "kinetics.json").write_text(json.dumps({
        "labels": ["jump", "wave"],
        "database": {
            "v_jump_0": {"subset": "training", "annotations": {"label": "jump", "segment": [1, 9]}},
            "v_wave_1": {"subset": "validation", "annotations": {"label": "wave", "segment": [3, 7]}},
            "unlabelled": {"subset": "testing", "annotations": {"segment": [1, 11]}},
            "not_downloaded": {"subset": "training", "annotations": {"label": "jump", "segment": [1, 9]}},
        }}))
    parsed = parse_hara_json(video_root, annotations=tmp_path / "kinetics.json")
    by_id = {e.video_id: e for e in parsed.entries}
    assert parsed.classes == ["jump", "wave"]
    assert (by_id["v_jump_0"].split, by_id["v_jump_0"].start) == ("train", None)
    assert (by_id["v_wave_1"].start, by_id["v_wave_1"].end) == pytest.approx((0.2, 0.6))  # frames 3-6 at 10 fps
    assert (by_id["unlabelled"].split, by_id["unlabelled"].class_name) == ("test", "")
    assert parsed.report.listed_missing == ["jump/not_downloaded"]
    assert len(parsed.report.unlisted) == 4  # the other videos of the two classes

    index = build_index(f"hara:{video_root}", annotations=tmp_path / "kinetics.json", cache=False)
    assert next(r for r in index if r.video_id == "unlabelled").label == -1
    segment = next(r for r in index if r.video_id == "v_wave_1")
    assert (segment.first_frame, segment.last_frame) == (2, 5)


def test_bad_json_is_a_one_line_error(video_root, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"labels": ["jump"], "database": {"v_jump_0": {"subset": "train-ish"}}}))
    with pytest.raises(MotionlensError, match="subset 'train-ish' is not training"):
        parse_hara_json(video_root, annotations=bad)
    bad.write_text(json.dumps({"labels": ["jump"], "database": {
        "v_jump_0": {"subset": "training", "annotations": {"label": "run", "segment": [1, 9]}}}}))
    with pytest.raises(MotionlensError, match="label 'run' is not in 'labels'"):
        parse_hara_json(video_root, annotations=bad)
    for name in ("a.json", "b.json"):
        (video_root / name).write_text('{"labels": [], "database": {}}')
    with pytest.raises(MotionlensError, match="several annotation JSONs"):
        parse_hara_json(video_root)


def test_duplicate_video_names_are_refused(video_root, tmp_path):
    index = build_index(f"folder:{video_root}", cache=False)
    twin = replace(index.records[0], path=str(video_root / "wave" / "v_jump_0.mp4"), class_name="wave")
    with pytest.raises(MotionlensError, match="two videos are named 'v_jump_0'"):
        write_hara_json(replace(index, records=[*index.records, twin]), tmp_path / "ann.json")


def test_cli_hara_json(video_root, tmp_path):
    out = tmp_path / "ann.json"
    proc = run_cli("ava", "hara-json", video_root, "--layout", "folder", "--out", out, "--test-subset", "validation")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"wrote 6 videos (6 training) in 2 classes to {out}"
    assert len(json.loads(out.read_text())["database"]) == 6
