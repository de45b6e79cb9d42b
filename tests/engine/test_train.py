"""Training: CLI smoke run, exact resume, reproducibility, DDP on CPU, bad-input errors."""

import csv
import os
import subprocess
import sys

import pytest
import torch

from motionlens.config import TrainConfig, parse_override, resolve
from motionlens.data.dataset import VideoClipDataset
from motionlens.data.index import VideoIndex, VideoRecord, build_index
from motionlens.data.samplers import RandomClipSampler
from motionlens.data.synth import synthesize
from motionlens.data.transforms import ClipTransform
from motionlens.engine.checkpoint import load_checkpoint
from motionlens.engine.train import fit
from tests.conftest import run_cli

SMALL = ["data.clip_len=4", "data.resize=32", "data.crop_size=28", "data.batch_size=4", "data.num_workers=0",
         "data.eval_clips=2", "model.name=cnn3d_small", "optim.lr=0.01", "data.hflip=false"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    return synthesize(root / "ucf", layout="ucf101", num_classes=2, videos_per_class=6, size=(32, 48), fps=10.0,
                      duration=(0.8, 1.2), seed=0)


def config(dataset, tmp_path, *extra):
    overrides = [*SMALL, f"data.data={dataset.spec}", f"out={tmp_path}", *extra]
    return resolve(TrainConfig, None, *map(parse_override, overrides))


def test_cli_train_then_eval_writes_the_run_folder(dataset, tmp_path):
    result = run_cli("train", "--data", dataset.spec, "--model", "cnn3d_small", "--epochs", "1", "--clip-len", "4",
                     "--batch-size", "4", "--workers", "0", "--set", "data.resize=32", "--set", "data.crop_size=28",
                     "--out", tmp_path, "--name", "smoke")
    assert result.returncode == 0, result.stderr
    run = tmp_path / "smoke"
    for name in ("config.yaml", "metrics.csv", "curves.png", "checkpoints/last.pt", "checkpoints/best.pt",
                 "checkpoints/epoch_001.pt"):
        assert (run / name).is_file(), name
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert len(rows) == 1 and float(rows[0]["train_loss"]) > 0 and float(rows[0]["clips_per_s"]) > 0
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["config"]["data"]["clip_len"] == 4 and state["classes"] == build_index(dataset.spec).classes

    result = run_cli("eval", run, "--clips", "2", "--crops", "3", "--workers", "0", "--out", tmp_path / "ev")
    assert result.returncode == 0, result.stderr
    for name in ("report.html", "predictions.csv", "confusion.png", "metrics.json"):
        assert (tmp_path / "ev" / name).is_file(), name
    rows = list(csv.DictReader(open(tmp_path / "ev" / "predictions.csv")))
    assert len(rows) == sum(r.split == "test" for r in build_index(dataset.spec).records)
    assert set(rows[0]) == {"path", "true_label", "predicted_label", "score", "top5", "correct"}
    assert "video top-1" in result.stderr + result.stdout


def test_resume_equals_uninterrupted_run(dataset, tmp_path):
    import shutil

    full = fit(config(dataset, tmp_path, "epochs=3", "name=full"), show_progress=False)
    # A run killed during epoch 2: its folder holds what epoch 1 wrote.
    killed = tmp_path / "killed"
    (killed / "checkpoints").mkdir(parents=True)
    shutil.copy(full / "checkpoints" / "epoch_001.pt", killed / "checkpoints" / "last.pt")
    resumed = fit(None, resume=killed, show_progress=False)
    assert resumed == killed
    a = load_checkpoint(full / "checkpoints" / "last.pt")
    b = load_checkpoint(killed / "checkpoints" / "last.pt")
    assert b["epoch"] == 3 and len(b["history"]) == 3
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()


def test_same_seed_same_metrics_with_workers(dataset, tmp_path):
    runs = [fit(config(dataset, tmp_path, "epochs=1", f"name=r{i}", "data.num_workers=2"), show_progress=False)
            for i in range(2)]
    rows = [next(csv.DictReader(open(r / "metrics.csv"))) for r in runs]
    for key in ("train_loss", "train_acc", "val_loss", "val_video_top1"):
        assert rows[0][key] == rows[1][key], key


def test_ddp_two_gloo_processes(dataset, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "motionlens", "train", "--data", dataset.spec, "--model", "cnn3d_small", "--epochs", "1",
           "--workers", "0", "--batch-size", "2", "--clip-len", "4", "--set", "data.resize=32",
           "--set", "data.crop_size=28", "--out", str(tmp_path), "--name", "ddp"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "ddp" / "checkpoints" / "last.pt").is_file()
    rows = list(csv.DictReader(open(tmp_path / "ddp" / "metrics.csv")))
    assert len(rows) == 1
    assert result.stderr.count("run folder:") + result.stdout.count("run folder:") == 1  # rank 0 logs only


def test_corrupt_video_is_replaced_and_counted(dataset, tmp_path, caplog):
    index = build_index(dataset.spec)
    bad = tmp_path / "bad.avi"
    bad.write_text("not a video")
    records = [VideoRecord(path=str(bad), label=0, class_name=index.classes[0], fps=10.0, num_frames=10),
               *index.records]
    ds = VideoClipDataset(VideoIndex(records, index.classes), RandomClipSampler(clip_len=4),
                          ClipTransform(32, 28, mean=(0.5,) * 3, std=(0.25,) * 3))
    torch.manual_seed(0)
    sample = ds[0]
    assert sample["failures"] == 1 and sample["video_index"] != 0
    assert sample["video"].shape == (1, 3, 4, 28, 28)
    ds[0]
    assert sum("bad.avi" in r.message for r in caplog.records) == 1  # logged once


def test_one_line_errors_for_bad_input(dataset, tmp_path):
    result = run_cli("train", "--data", f"folder:{tmp_path / 'nowhere'}", "--model", "cnn3d_small")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "data path not found" in result.stderr
    (tmp_path / "hmdb").mkdir()
    result = run_cli("train", "--data", f"hmdb51:{tmp_path / 'hmdb'}")
    assert result.returncode == 2 and "split files" in result.stderr and "Traceback" not in result.stderr


def test_eval_rejects_a_checkpoint_with_other_classes(dataset, tmp_path):
    run = fit(config(dataset, tmp_path, "epochs=1", "name=two"), show_progress=False)
    other = synthesize(tmp_path / "three", layout="folder", num_classes=3, videos_per_class=2, size=(32, 48),
                       fps=10.0, duration=0.8, seed=1)
    result = run_cli("eval", run, "--data", other.spec, "--workers", "0")
    assert result.returncode == 2
    assert "2 classes" in result.stderr and "3" in result.stderr and "Traceback" not in result.stderr
