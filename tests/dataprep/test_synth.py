"""Synthetic datasets: the layouts' exact file formats, determinism, refusals and the CLI."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import av
import numpy as np
import pytest

from motionlens.data.index import build_index
from motionlens.dataprep import synth
from motionlens.dataprep.synth import CLASSES, synthesize
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


def test_per_video_size_fps_and_duration_vary(tmp_path):
    ds = synthesize(tmp_path / "v", num_classes=1, videos_per_class=8, size=[(48, 64), (64, 48)],
                    fps=(10.0, 20.0), duration=(0.4, 1.2))
    infos = [probe(p) for p in _files(ds.root, "*.mp4")]
    assert {(i.height, i.width) for i in infos} == {(48, 64), (64, 48)}
    assert {i.fps for i in infos} == {10.0, 20.0}
    assert len({round(i.duration, 2) for i in infos}) >= 4 and all(0.3 <= i.duration <= 1.3 for i in infos)


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
