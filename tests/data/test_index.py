"""Every dataset layout, on tiny datasets written by the synthesiser."""

import os
import time
from pathlib import Path

import pytest

from motionlens.data.index import ProbeCache, build_index, probe_paths
from motionlens.dataprep.synth import synthesize
from motionlens.core.errors import MotionlensError

TINY = dict(num_classes=3, videos_per_class=4, size=(32, 48), fps=10.0, duration=(0.6, 0.9), seed=0)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    return {layout: synthesize(root / layout, layout=layout, **TINY)
            for layout in ("folder", "hmdb51", "ucf101", "kinetics", "frames", "list")}


@pytest.mark.parametrize("layout", ["folder", "hmdb51", "ucf101", "kinetics", "frames", "list"])
def test_each_layout_indexes_every_video(datasets, layout):
    synth = datasets[layout]
    index = build_index(synth.spec)
    assert index.layout == ("folder" if layout == "frames" else layout)
    assert index.failures == []
    assert len(index.classes) == 3
    usable = [r for r in index.records if r.split != "unused"]
    assert len(usable) >= 3 * 4 - 3  # hmdb51 may mark a few videos unused
    assert {r.class_name for r in index.records} == set(index.classes)
    assert all(r.label == index.classes.index(r.class_name) for r in index.records)
    assert all(r.num_frames >= 5 and r.fps > 0 and r.width == 48 and r.height == 32 for r in index.records)
    assert not index.report.listed_missing


@pytest.mark.parametrize("layout", ["hmdb51", "ucf101", "kinetics", "list"])
def test_split_layouts_have_train_and_test(datasets, layout):
    index = build_index(datasets[layout].spec)
    splits = {r.split for r in index.records}
    assert {"train", "test"} <= splits or {"train", "val"} <= splits


def test_auto_detects_the_layout(datasets):
    for layout in ("hmdb51", "ucf101", "kinetics", "list"):
        assert build_index(datasets[layout].root).layout == layout


def test_ucf101_class_case_differs_from_folder(datasets):
    index = build_index(datasets["ucf101"].spec)
    folders = {os.path.basename(os.path.dirname(r.path)) for r in index.records}
    # the lists and classInd name a class in a different case from its folder, as real UCF101 does
    assert {c.lower() for c in index.classes} == {f.lower() for f in folders}
    assert set(index.classes) != folders  # the synthesiser writes the quirk for rotate_cw
    assert len(index.records) == 12


def test_ucf101_list_naming_missing_files(datasets, tmp_path):
    import shutil

    root = tmp_path / "ucf"
    shutil.copytree(datasets["ucf101"].root, root)
    gone = sorted((root / "UCF-101").rglob("*.avi"))[:2]
    for path in gone:
        path.unlink()
    index = build_index(f"ucf101:{root}")
    assert len(index.records) == 10
    assert len(index.report.listed_missing) == 2
    assert any(gone[0].name in item for item in index.report.listed_missing)
    assert "2 listed but missing on disk" in index.report.lines()[0]


def test_corrupt_files_are_listed_not_fatal(datasets, tmp_path):
    import shutil

    root = tmp_path / "folder"
    shutil.copytree(datasets["folder"].root, root)
    cls = sorted(p for p in root.iterdir() if p.is_dir())[0]
    (cls / "empty.mp4").write_bytes(b"")
    (cls / "text.avi").write_text("not a video at all\n" * 10)
    good = sorted(cls.glob("*.mp4"))[0]
    (cls / "truncated.mp4").write_bytes(good.read_bytes()[:200])
    index = build_index(f"folder:{root}")
    reasons = {os.path.basename(p): r for p, r in index.failures}
    assert set(reasons) == {"empty.mp4", "text.avi", "truncated.mp4"}
    assert "0 bytes" in reasons["empty.mp4"] and "not a video" in reasons["text.avi"]
    assert len(index.records) == 12


def test_cache_makes_second_run_instant_and_sees_changes(datasets, tmp_path):
    import shutil

    root = tmp_path / "cached"
    shutil.copytree(datasets["folder"].root, root)
    build_index(f"folder:{root}")
    cache = ProbeCache(root)
    assert len(cache.entries) == 12
    video = sorted(root.rglob("*.mp4"))[0]
    other = sorted(root.rglob("*.mp4"))[-1]
    shutil.copy(other, video)  # same path, new content: size/mtime change
    os.utime(video, ns=(time.time_ns(), time.time_ns() + 10**9))
    index = build_index(f"folder:{root}")
    record = next(r for r in index.records if r.path == str(video))
    assert record.num_frames == next(r for r in index.records if r.path == str(other)).num_frames
    stamps = ProbeCache(root)
    assert stamps.entries[str(video)][:2] == list(ProbeCache.stamp(str(video)))


def test_validation_split_is_stratified_and_seeded(datasets):
    index = build_index(datasets["folder"].spec)  # all 12 are train
    a = index.with_val_split(0.25, seed=1)
    b = index.with_val_split(0.25, seed=1)
    c = index.with_val_split(0.25, seed=2)
    val = [r for r in a.records if r.split == "val"]
    assert [r.path for r in val] == [r.path for r in b.records if r.split == "val"]
    assert {r.class_name for r in val} == set(index.classes) and len(val) == 3  # one per class
    assert [r.path for r in val] != [r.path for r in c.records if r.split == "val"]


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(MotionlensError, match="data path not found"):
        build_index(f"folder:{tmp_path / 'nowhere'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MotionlensError, match="HMDB51 split files"):
        build_index(f"hmdb51:{tmp_path / 'empty'}")
    with pytest.raises(MotionlensError, match="unknown layout"):
        build_index(tmp_path, layout="youtube")


def test_process_pool_probes_as_threads_do(tmp_path):
    """Many-file indexing runs in worker processes: same results, in the same order, bad files included."""
    synth = synthesize(tmp_path / "d", num_classes=1, videos_per_class=3, size=(48, 64), fps=25.0, duration=1.0,
                       seed=0, codec="xvid")
    paths = sorted(str(p) for p in Path(synth.root).rglob("*") if p.suffix in (".avi", ".mp4"))
    (tmp_path / "bad.avi").write_text("not a video")
    paths.append(str(tmp_path / "bad.avi"))
    threaded = list(probe_paths(paths, processes=False))
    pooled = list(probe_paths(paths, processes=True, workers=2))
    assert pooled == threaded and [p for p, _ in pooled] == paths
    assert "error" in pooled[-1][1] and all(r["num_frames"] == 25 and not r["frames_estimated"] for _, r in pooled[:-1])


def test_process_pool_failure_falls_back_to_threads(tmp_path, monkeypatch, caplog):
    """Where worker processes cannot start, probing goes on in threads and says so."""
    import motionlens.data.index as index

    synth = synthesize(tmp_path / "d", num_classes=1, videos_per_class=2, size=(48, 64), fps=25.0, duration=1.0,
                       seed=0, codec="xvid")
    paths = sorted(str(p) for p in Path(synth.root).rglob("*.avi"))

    def no_processes(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(index, "ProcessPoolExecutor", no_processes)
    results = list(index.probe_paths(paths, processes=True))
    assert [p for p, _ in results] == paths and all(r["num_frames"] == 25 for _, r in results)
    assert "going on with threads" in caplog.text
