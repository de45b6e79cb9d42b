"""Archive jobs through the real CLI: `predict`, `flow` and `data check --deep` give the same files
in the command's own process and on a real local Ray instance (started as `--ray local` starts
one, reached with `--ray --ray-address`), list broken files the same way, survive a worker killed
mid-video, and resume by skipping finished videos (without starting Ray when nothing is left to
do)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from motionlens.deploy.archive import unique_stems
from motionlens.core.jobs import CRASH_ONCE_ENV, crash_marker
from motionlens.video import write_video
from tests.conftest import run_cli, save_tiny_run


def run(*args, env=None) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A tiny trained-run folder and a folder of 4 short videos + 1 broken file (class-folder layout)."""
    root = tmp_path_factory.mktemp("archive")
    save_tiny_run(root / "run", classes=("a", "b", "c"), size=32)
    videos = []
    for i in range(4):
        frames = np.random.default_rng(i).integers(0, 255, (20 + 5 * i, 32, 40, 3), dtype=np.uint8)
        videos.append(write_video(root / "data" / "walk" / f"v{i}.mp4", frames, 25.0))
    broken = root / "data" / "walk" / "broken.mp4"
    broken.write_bytes(videos[0].read_bytes()[:2500])  # a header and no more
    return root, videos, broken


@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray instance for the module, started the way `--ray local` starts one; each
    command line connects to it (`--ray --ray-address ADDRESS`), as to a running cluster. A
    `--ray local` per command would start and stop a whole instance (15-20 s here) each time.
    One CPU: each Ray worker is a fresh interpreter that imports torch (5-7 s of CPU here); the
    local worker pool and two Ray workers are tested in test_jobs."""
    import ray

    from motionlens.core.jobs import _ensure_ray

    assert _ensure_ray(ray, "local", 1)
    yield ["--ray", "--ray-address", ray.get_runtime_context().gcs_address]
    ray.shutdown()


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".done" not in p.parts and p.name != "done"}  # markers hold timings


def _errors(proc) -> list[str]:
    return sorted(line for line in proc.stderr.splitlines() if line.startswith("error:") and "videos failed" not in line)


@pytest.mark.slow
def test_predict_local_pool_and_ray_write_identical_files_through_a_killed_worker(archive, ray_cluster, tmp_path):
    root, videos, broken = archive
    inputs = [*videos, broken]
    local = run("predict", root / "run", *inputs, "--out", tmp_path / "local", "--workers", "1")
    crashed = tmp_path / "crashes"
    crashed.mkdir()
    for video in inputs[1:]:  # each killed worker costs a process start that imports torch: kill one
        Path(crash_marker(crashed, str(video))).touch()
    ray = run("predict", root / "run", *inputs, "--out", tmp_path / "ray", *ray_cluster,
              env={CRASH_ONCE_ENV: str(crashed)})
    for proc in (local, ray):
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "1 of 5 videos failed: " + str(broken) in proc.stderr
    assert _errors(local) == _errors(ray) and len(_errors(ray)) == 1  # the broken file, with the same reason
    assert Path(crash_marker(crashed, str(inputs[0]))).is_file()  # v0's first attempt killed its Ray worker
    local_files, ray_files = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert sorted(local_files) == [f"{s}.json" for s in sorted(unique_stems(map(str, videos)))]
    assert local_files == ray_files  # byte-identical JSON
    frames = [json.loads(local_files[f"v{i}.json"])["frames"] for i in range(4)]
    assert frames == [20, 25, 30, 35]


def test_predict_resumes_by_skipping_finished_videos(archive, tmp_path):
    root, videos, _ = archive
    out = tmp_path / "preds"
    first = run("predict", root / "run", *videos[:2], "--out", out)
    assert first.returncode == 0, first.stderr
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
    again = run("predict", root / "run", *videos[:3], "--out", out, "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("| already done |") == 2 and "2 of 3 videos were already done" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("v[01].json")} == before  # not rewritten
    assert (out / "v2.json").is_file()
    other = run("predict", root / "run", *videos[:1], "--out", out, "--window-stride", "3")
    assert other.returncode == 2 and "another model, settings or input" in other.stderr
    assert "Traceback" not in other.stderr


@pytest.mark.slow
def test_flow_on_ray_writes_the_same_files_as_the_local_pool(archive, ray_cluster, tmp_path):
    root, _, broken = archive
    local = run("flow", f"folder:{root / 'data'}", "--method", "dis", "--out", tmp_path / "local", "--workers", "1")
    ray = run("flow", f"folder:{root / 'data'}", "--method", "dis", "--out", tmp_path / "ray", *ray_cluster)
    for proc in (local, ray):
        assert proc.returncode == 1 and "4 extracted, 0 already done, 1 failed" in proc.stdout + proc.stderr
        assert f"failed: {broken}" in proc.stdout + proc.stderr
    local_files = _files(tmp_path / "local")
    assert len(local_files) > 4 * 2 * 15 and local_files == _files(tmp_path / "ray")
    again = run("flow", f"folder:{root / 'data'}", "--method", "dis", "--out", tmp_path / "ray", "--ray", "local")
    assert again.returncode == 1  # the broken file; nothing else to do, so no Ray instance was started
    assert "0 extracted, 4 already done, 1 failed" in again.stdout + again.stderr


@pytest.mark.slow
def test_data_check_deep_lists_broken_files_the_same_way_on_ray(archive, ray_cluster):
    root, _, broken = archive
    local = run("data", "check", f"folder:{root / 'data'}", "--deep", "--workers", "1", "--no-cache")
    ray = run("data", "check", f"folder:{root / 'data'}", "--deep", *ray_cluster, "--no-cache")
    assert local.returncode == ray.returncode == 1
    lines = [[line for line in p.stdout.splitlines() + p.stderr.splitlines() if "unreadable" in line]
             for p in (local, ray)]
    assert lines[0] == lines[1] and any(str(broken) in line for line in lines[0])


def test_ray_flags_are_checked_in_one_line(archive):
    root, videos, _ = archive
    proc = run("predict", root / "run", videos[0], "--ray", str(videos[1]))  # the value slot took a video
    assert proc.returncode == 2 and "put --ray after the videos" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("predict", root / "run", videos[0], "--ray-address", "ray://nowhere:1")
    assert proc.returncode == 2 and "--ray-address needs --ray" in proc.stderr


def test_done_markers_from_before_the_window_stride_rename_still_match():
    """Markers hash the settings; the old key "stride" is kept in the hash so old folders resume."""
    import hashlib

    from motionlens.deploy.archive import PredictSettings, _fingerprint

    old = {"stride": 8, "batch_size": 8, "top_k": 5, "smooth": 1, "threshold": None, "off_threshold": None,
           "format": "motionlens", "annotate": False}
    text = json.dumps({"model": "m", "pipeline": {}, "settings": old}, sort_keys=True)
    assert _fingerprint("m", {}, PredictSettings(window_stride=8)) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert _fingerprint("m", {}, PredictSettings(window_stride=4)) != _fingerprint("m", {}, PredictSettings())


def test_annotated_paths_and_model_id(tmp_path):
    from motionlens.deploy.archive import annotated_paths, model_id

    assert annotated_paths(None, ["a.mp4", "b.mp4"]) == [None, None]
    assert annotated_paths("out.mp4", ["x/a.avi"]) == ["out.mp4"]  # one video: the file named
    assert annotated_paths("out", ["x/a.avi", "y/a.avi"]) == ["out/a.mp4", "out/a-2.mp4"]  # stems kept apart
    assert annotated_paths("out.mp4", ["a.avi", "b.avi"]) == ["out.mp4/a.mp4", "out.mp4/b.mp4"]  # several: a folder
    assert model_id(str(tmp_path), None) == f"{tmp_path.resolve()}|None"
    assert model_id("x3d_xs", "kinetics400") == "x3d_xs|kinetics400"
