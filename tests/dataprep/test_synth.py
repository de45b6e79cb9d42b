"""Synthetic datasets: the layouts' exact file formats, determinism, and that a single frame tells
the paired classes nothing while their motion does."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from motionlens.data.index import build_index
from motionlens.dataprep import synth
from motionlens.dataprep.synth import CLASSES, make_scene, make_track, render_clip, synthesize, write_long_video
from motionlens.core.errors import MotionlensError
from motionlens.video import count_frames, probe, read_frames
from tests.conftest import run_script

TINY = dict(size=(48, 64), fps=25.0, duration=(0.32, 0.6))  # 8-15 frames


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict:
    """One tiny dataset per layout, written once for the module."""
    root = tmp_path_factory.mktemp("synth")
    per_class = {"hmdb51": 10, "ucf101": 8}  # hmdb51 marks unused videos from 10 per class on
    classes = {"ucf101": 4, "hmdb51": 2}  # ucf101 with 4 classes includes the RotateCW folder quirk
    return {layout: synthesize(root / layout, layout=layout, num_classes=classes.get(layout, 3),
                               videos_per_class=per_class.get(layout, 3), seed=1,
                               **(TINY if layout != "kinetics" else {**TINY, "fps": 10.0}))
            for layout in synth.LAYOUTS}


def _files(root: Path, pattern: str = "*") -> list[Path]:
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def test_folder_layout_has_only_class_folders_of_videos(datasets):
    ds = datasets["folder"]
    files = _files(ds.root)
    assert len(files) == ds.num_videos == 9
    for f in files:
        assert f.suffix == ".mp4" and f.parent.parent == ds.root and f.parent.name in CLASSES[:3]
    info = probe(files[0])
    assert (info.height, info.width, info.fps, info.codec) == (48, 64, 25.0, "h264")
    assert 8 <= count_frames(files[0]) <= 15


def test_hmdb51_layout_and_split_files(datasets):
    ds = datasets["hmdb51"]
    videos = _files(ds.root / "videos", "*.avi")
    assert len(videos) == 20
    with av.open(str(videos[0])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "mpeg4" and stream.codec_tag == "XVID"
    line_format = re.compile(r"^(\S+_(move_left|move_right)_f_cm_np1_ri_med_\d+\.avi) ([012]) $")
    draws = {}
    for name in ("move_left", "move_right"):
        on_disk = {p.name for p in (ds.root / "videos" / name).iterdir()}
        for split in (1, 2, 3):
            text = (ds.root / "splits" / f"{name}_test_split{split}.txt").read_text()
            lines = text.split("\n")
            assert lines[-1] == "" and len(lines) == 11
            parsed = [line_format.match(line) for line in lines[:-1]]
            assert all(parsed), lines
            assert {m.group(1) for m in parsed} == on_disk and {m.group(2) for m in parsed} == {name}
            ids = [m.group(3) for m in parsed]
            assert (ids.count("1"), ids.count("2"), ids.count("0")) == (6, 3, 1)
            draws[name, split] = ids
    assert draws["move_left", 1] != draws["move_left", 2] or draws["move_left", 2] != draws["move_left", 3]
    assert len(list((ds.root / "splits").iterdir())) == 6


def test_ucf101_layout_lists_and_group_splits(datasets):
    ds = datasets["ucf101"]
    lists = ds.root / "ucfTrainTestlist"
    class_ind = (lists / "classInd.txt").read_text().splitlines()
    assert class_ind == ["1 MoveLeft", "2 MoveRight", "3 RotateCCW", "4 RotateCW"]
    # The RotateCW folder is spelled differently from the lists, like UCF101's HandstandPushups.
    folders = sorted(p.name for p in (ds.root / "UCF-101").iterdir())
    assert folders == ["MoveLeft", "MoveRight", "RotateCCW", "RotateCw"]
    on_disk = {f"{p.parent.name.lower()}/{p.name.lower()}" for p in _files(ds.root / "UCF-101", "*.avi")}
    assert len(on_disk) == 32
    name_format = re.compile(r"^(\w+)/v_(\w+)_g(\d\d)_c(\d\d)\.avi$")
    for split in (1, 2, 3):
        train = (lists / f"trainlist0{split}.txt").read_text().splitlines()
        test = (lists / f"testlist0{split}.txt").read_text().splitlines()
        listed = []
        for line in train:
            rel, label = line.split(" ")
            m = name_format.match(rel)
            assert m and m.group(1) == m.group(2) and class_ind[int(label) - 1] == f"{label} {m.group(1)}"
            assert not 7 * split - 6 <= int(m.group(3)) <= 7 * split
            listed.append(rel)
        for line in test:
            m = name_format.match(line)  # test lines carry no label
            assert m and 7 * split - 6 <= int(m.group(3)) <= 7 * split
            listed.append(line)
        assert {r.lower() for r in listed} == on_disk and len(listed) == 32
        assert 0.2 <= len(test) / 32 <= 0.45


def test_kinetics_layout_csvs_and_file_names(datasets):
    ds = datasets["kinetics"]
    rows = []
    for name in ("train", "validate", "test"):
        with open(ds.root / f"{name}.csv", newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == ["label", "youtube_id", "time_start", "time_end", "split"]
            for label, youtube_id, start, end, split in reader:
                assert split == name and label in ("move left", "move right", "rotate cw")
                assert re.fullmatch(r"[A-Za-z0-9_-]{11}", youtube_id) and 0 < int(end) - int(start) <= 1
                path = ds.root / name / label / f"{youtube_id}_{int(start):06d}_{int(end):06d}.mp4"
                assert path.is_file(), path
                rows.append(path)
    assert len(rows) == len(set(rows)) == len(_files(ds.root, "*.mp4")) == 9
    assert ds.classes == ["move left", "move right", "rotate cw"]


def test_frames_layout_numbers_jpegs_from_one(datasets):
    ds = datasets["frames"]
    folders = sorted(p for p in ds.root.glob("*/*") if p.is_dir())
    assert len(folders) == 9
    for folder in folders:
        names = sorted(p.name for p in folder.iterdir())
        assert names == [f"img_{i:05d}.jpg" for i in range(1, len(names) + 1)] and 8 <= len(names) <= 15
    assert read_frames(folders[0], [0]).shape == (1, 48, 64, 3)


def test_list_layout_lines_and_labels(datasets):
    ds = datasets["list"]
    seen = []
    for split in ("train", "val", "test"):
        for line in (ds.root / f"{split}.txt").read_text().splitlines():
            rel, label = line.split(" ")
            m = re.fullmatch(r"videos/(\w+)/\w+\.mp4", rel)
            assert m and ds.classes[int(label)] == m.group(1) and (ds.root / rel).is_file()
            seen.append((rel, split))
    splits = [s for _, s in seen]
    assert len(seen) == 9 and (splits.count("train"), splits.count("val"), splits.count("test")) == (6, 3, 0)


@pytest.mark.parametrize("layout", synth.LAYOUTS)
def test_the_index_reads_every_layout_back(datasets, layout):
    ds = datasets[layout]
    index = build_index(ds.spec)
    assert index.classes == ds.classes and len(index) == ds.num_videos and not index.failures
    assert not index.report.listed_missing and not index.report.unlisted
    expected = {"hmdb51": {"train", "test", "unused"}, "ucf101": {"train", "test"}, "kinetics": {"train", "val"},
                "list": {"train", "val"}}.get(layout, {"train"})
    assert {r.split for r in index.records} == expected


def _decoded(ds) -> list[np.ndarray]:
    return [read_frames(p, range(count_frames(p))) for p in _files(ds.root, "*.mp4")]


def test_same_seed_same_frames_and_other_seed_differs(tmp_path):
    kw = dict(num_classes=2, videos_per_class=2, **TINY)
    first = _decoded(synthesize(tmp_path / "a", seed=3, **kw))
    again = _decoded(synthesize(tmp_path / "b", seed=3, **kw))
    other = _decoded(synthesize(tmp_path / "c", seed=4, **kw))
    assert len(first) == len(again) == 4
    assert all(np.array_equal(x, y) for x, y in zip(first, again))
    assert not any(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(first, other))


def test_render_clip_is_seeded_and_background_only_works():
    a = render_clip("rotate_cw", np.random.default_rng(5), 48, 64, 12, 25.0)
    b = render_clip("rotate_cw", np.random.default_rng(5), 48, 64, 12, 25.0)
    assert a.dtype == np.uint8 and a.shape == (12, 48, 64, 3) and np.array_equal(a, b)
    idle = render_clip(None, np.random.default_rng(5), 48, 64, 12, 25.0)
    assert idle.shape == a.shape and not np.array_equal(idle, a)
    with pytest.raises(MotionlensError):
        render_clip("juggle", np.random.default_rng(0), 48, 64, 12, 25.0)


def test_per_video_size_fps_and_duration_vary(tmp_path):
    ds = synthesize(tmp_path / "v", num_classes=1, videos_per_class=8, size=[(48, 64), (64, 48)],
                    fps=(10.0, 20.0), duration=(0.4, 1.2))
    infos = [probe(p) for p in _files(ds.root, "*.mp4")]
    assert {(i.height, i.width) for i in infos} == {(48, 64), (64, 48)}
    assert {i.fps for i in infos} == {10.0, 20.0}
    assert len({round(i.duration, 2) for i in infos}) >= 4 and all(0.3 <= i.duration <= 1.3 for i in infos)


def _tracks(name: str, n: int = 400, frames: int = 20, size=(60, 80)):
    out = []
    for k in range(n):
        rng = np.random.default_rng([11, CLASSES.index(name), k])
        out.append(make_track(name, rng, make_scene(rng, *size), frames, 25.0))
    return out


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Largest gap between the two empirical distribution functions."""
    grid = np.sort(np.concatenate([a, b]))
    return float(np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                                - np.searchsorted(np.sort(b), grid, "right") / len(b))))


def _same_mean(per_clip_a: np.ndarray, per_clip_b: np.ndarray) -> bool:
    """Means equal within 4 standard errors (clips are the independent units, not frames)."""
    se = np.sqrt(per_clip_a.var() / len(per_clip_a) + per_clip_b.var() / len(per_clip_b))
    return abs(per_clip_a.mean() - per_clip_b.mean()) < 4 * se


def test_left_and_right_share_positions_but_move_oppositely():
    left, right = _tracks("move_left"), _tracks("move_right")
    assert _same_mean(np.array([t.x.mean() for t in left]), np.array([t.x.mean() for t in right]))
    # KS critical value for 400 independent clips at p=0.001 is 0.14; frames only add samples.
    assert _ks(np.concatenate([t.x for t in left]), np.concatenate([t.x for t in right])) < 0.1
    step_left = np.array([np.diff(t.x).mean() for t in left])
    step_right = np.array([np.diff(t.x).mean() for t in right])
    assert (step_left < -0.5).all() and (step_right > 0.5).all()


@pytest.mark.parametrize("pair, axis", [(("move_up", "move_down"), "y"), (("move_up_left", "move_up_right"), "x"),
                                         (("move_down_left", "move_down_right"), "x")])
def test_vertical_and_diagonal_pairs_share_positions_but_move_as_named(pair, axis):
    tracks = {name: _tracks(name, n=200) for name in pair}
    positions = [np.concatenate([getattr(t, axis) for t in tracks[name]]) for name in pair]
    assert _ks(*positions) < 0.1  # a frame does not tell the pair apart
    for name in pair:
        ux, uy = synth._DIRECTIONS[name]
        step_x = np.array([np.diff(t.x).mean() for t in tracks[name]])
        step_y = np.array([np.diff(t.y).mean() for t in tracks[name]])
        for unit, step in ((ux, step_x), (uy, step_y)):
            if unit:
                assert (np.sign(step) == unit).all() and (np.abs(step) > 0.3).all(), name
            else:
                assert np.abs(step).max() < 0.2, name  # only the damped drift across the motion


def test_approach_and_recede_share_sizes_but_change_size_oppositely():
    near, far = _tracks("approach"), _tracks("recede")
    assert _same_mean(np.array([t.radius.mean() for t in near]), np.array([t.radius.mean() for t in far]))
    assert _ks(np.concatenate([t.radius for t in near]), np.concatenate([t.radius for t in far])) < 0.1
    assert all(t.radius[-1] > t.radius[0] * 1.5 for t in near) and all(t.radius[-1] < t.radius[0] / 1.5 for t in far)


def test_rotations_show_every_orientation_and_turn_oppositely():
    cw, ccw = _tracks("rotate_cw"), _tracks("rotate_ccw")
    for tracks in (cw, ccw):
        angle = np.concatenate([t.angle for t in tracks])
        # Mean resultant length of uniform angles over 400 clips is ~0.04; a fixed start would give ~1.
        assert abs(np.exp(1j * angle).mean()) < 0.15
    assert all(np.diff(t.angle).min() > 0 for t in cw) and all(np.diff(t.angle).max() < 0 for t in ccw)


def test_rendered_frames_put_the_object_where_its_track_says():
    """Column centroid of the drawn object on a flat, noiseless scene follows the track; over many
    clips its mean is the same for left and right while its drift has opposite signs."""
    centroids, drifts = {}, {}
    for name in ("move_left", "move_right"):
        cs, ds = [], []
        for k in range(100):
            rng = np.random.default_rng([12, CLASSES.index(name), k])
            scene = make_scene(rng, 48, 64)
            flat = replace(scene, texture=np.zeros_like(scene.texture), jitter=0.0, noise_sigma=0.0, distractor=None)
            track = make_track(name, rng, flat, 12, 25.0)
            frames = np.stack(list(synth.draw_frames(flat, track, rng, 0, 25.0)))  # (T, H, W, 3)
            ink = frames.max(axis=3).astype(float).sum(axis=1)  # (T, W) object ink per column
            c = (ink * np.arange(64)).sum(1) / ink.sum(1)
            assert np.abs(c - track.x).max() < 3.0
            cs.append(c.mean())
            ds.append(np.diff(c).mean())
        centroids[name], drifts[name] = np.array(cs), np.array(ds)
    assert _same_mean(centroids["move_left"], centroids["move_right"])
    assert (drifts["move_left"] < 0).all() and (drifts["move_right"] > 0).all()


def test_long_video_segments_tile_the_written_file(tmp_path):
    schedule = [(None, 0.5), ("move_left", 0.62), ("rotate_cw", 0.3), (None, 0.4)]
    segments = write_long_video(tmp_path / "long.mp4", schedule, size=(48, 64), fps=25.0, seed=2)
    assert [s["label"] for s in segments] == [None, "move_left", "rotate_cw", None]
    assert segments[0]["start_frame"] == 0
    for a, b in zip(segments, segments[1:]):
        assert a["end_frame"] == b["start_frame"] and a["end_sec"] == pytest.approx(b["start_sec"])
    assert [s["end_frame"] - s["start_frame"] for s in segments] == [12, 16, 8, 10]
    assert count_frames(tmp_path / "long.mp4") == segments[-1]["end_frame"] == 46
    assert segments[-1]["end_sec"] == pytest.approx(probe(tmp_path / "long.mp4").duration, abs=0.05)
    with pytest.raises(MotionlensError):
        write_long_video(tmp_path / "bad.mp4", [("juggle", 1.0)], size=(48, 64))


def test_synthesize_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(MotionlensError, match="not empty"):
        synthesize(tmp_path / "out", num_classes=1, videos_per_class=1, **TINY)
    ds = synthesize(tmp_path / "out", num_classes=1, videos_per_class=1, overwrite=True, **TINY)
    assert [p.name for p in _files(ds.root)] == ["move_left_0000.mp4"]


def test_cli_writes_a_dataset_and_refuses_a_non_empty_out(tmp_path):
    out = tmp_path / "cli"
    # The installed console script itself, in a new interpreter (synth imports no torch: cheap).
    args = ["synth", out, "--layout", "list", "--classes", "2", "--videos-per-class", "2", "--size", "48x64",
            "--duration", "0.4"]
    done = run_script(*args)
    assert done.returncode == 0, done.stderr
    assert f"--data list:{out}" in done.stdout and "4 videos" in done.stdout
    assert len(_files(out, "*.mp4")) == 4 and (out / "train.txt").is_file()
    again = run_script(*args)
    assert again.returncode == 2 and "not empty" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and "Traceback" not in again.stderr
    bad = run_script("synth", tmp_path / "x", "--size", "48by64")
    assert bad.returncode == 2 and "--size" in bad.stderr and "Traceback" not in bad.stderr
