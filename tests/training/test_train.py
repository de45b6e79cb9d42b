"""Training: CLI smoke run, exact resume, reproducibility, DDP on CPU, bad-input errors."""

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from motionlens import config as config_mod
from motionlens.config import TrainConfig, parse_override, resolve
from motionlens.data.dataset import VideoClipDataset
from motionlens.data.index import VideoIndex, VideoRecord, build_index
from motionlens.data.samplers import RandomClipSampler
from motionlens.data.transforms import ClipTransform
from motionlens.dataprep.synth import synthesize
from motionlens.training.checkpoint import read_training_checkpoint
from motionlens.training.train import fit
from tests.conftest import run_cli

SMALL = ["data.clip_len=4", "data.resize=32", "data.crop_size=28", "data.batch_size=4", "data.num_workers=0",
         "data.eval_clips=2", "model.name=cnn3d_small", "optim.lr=0.01", "data.hflip=false"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("train_data")
    return synthesize(root / "ucf", layout="ucf101", num_classes=2, videos_per_class=6, size=(32, 48), fps=10.0,
                      duration=(0.8, 1.2), seed=0)


def config(dataset, tmp_path, *extra):
    overrides = [*SMALL, f"data.dataset={dataset.spec}", f"out={tmp_path}", *extra]
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
    state = read_training_checkpoint(run / "checkpoints" / "last.pt")
    assert state["config"]["data"]["clip_len"] == 4 and state["classes"] == build_index(dataset.spec).classes

    result = run_cli("eval", run, "--clips", "2", "--crops", "3", "--workers", "0", "--out", tmp_path / "ev")
    assert result.returncode == 0, result.stderr
    for name in ("report.html", "predictions.csv", "confusion.png", "metrics.json"):
        assert (tmp_path / "ev" / name).is_file(), name
    rows = list(csv.DictReader(open(tmp_path / "ev" / "predictions.csv")))
    assert len(rows) == sum(r.split == "test" for r in build_index(dataset.spec).records)
    assert set(rows[0]) == {"path", "true_label", "predicted_label", "score", "top5", "correct"}
    output = result.stderr + result.stdout
    assert "video top-1" in output
    # Which checkpoint and why, and the protocol next to the figures.
    assert "checkpoint best.pt: epoch 1 of 1, chosen as best by highest val video top-1" in output
    assert "[1 clip x 3 crops (4 frames spread over the whole video, 28 px three crop)]" in output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["protocol"].startswith("1 clip x 3 crops") and metrics["crops_per_clip"] == 3


@pytest.mark.slow
def test_resume_through_the_cli_equals_the_uninterrupted_run(dataset, tmp_path):
    import shutil

    common = ["--data", dataset.spec, "--model", "cnn3d_small", "--clip-len", "4", "--batch-size", "4", "--workers",
              "0", "--set", "data.resize=32", "--set", "data.crop_size=28", "--out", tmp_path]
    result = run_cli("train", *common, "--epochs", "3", "--name", "full")
    assert result.returncode == 0, result.stderr[-2000:]
    full = tmp_path / "full" / "checkpoints"
    # Retention: last, best and the newest two epoch files (keep_epochs=2).
    assert {p.name for p in full.glob("*.pt")} <= {"last.pt", "best.pt", "epoch_002.pt", "epoch_003.pt"}
    assert {"last.pt", "epoch_002.pt", "epoch_003.pt"} <= {p.name for p in full.glob("*.pt")}
    # A run killed during epoch 3: its folder holds what epoch 2 wrote.
    killed = tmp_path / "killed"
    (killed / "checkpoints").mkdir(parents=True)
    shutil.copy(full / "epoch_002.pt", killed / "checkpoints" / "last.pt")
    result = run_cli("train", "--resume", killed)  # no --epochs: the run's own 3, not the default
    assert result.returncode == 0, result.stderr[-2000:]
    a, b = read_training_checkpoint(full / "last.pt"), read_training_checkpoint(killed / "checkpoints" / "last.pt")
    assert b["epoch"] == 3 and len(b["history"]) == 3 and b["config"]["epochs"] == 3
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["history"][-1]["train_loss"] == b["history"][-1]["train_loss"]

    result = run_cli("train", "--resume", killed, "--epochs", "4")  # asked for explicitly: extends
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_training_checkpoint(killed / "checkpoints" / "last.pt")["epoch"] == 4


def test_lr_schedule_counts_optimizer_steps_not_batches():
    from motionlens.config import OptimConfig
    from motionlens.training.builders import build_scheduler, optimizer_steps
    from motionlens.training.train import train_one_epoch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 4 * 4, 2))
    loader = [{"video": torch.randn(2, 1, 3, 2, 4, 4), "label": torch.tensor([0, 1]), "failures": torch.zeros(2)}
              for _ in range(10)]  # 10 batches a epoch
    optim = OptimConfig(optimizer="sgd", lr=0.1, weight_decay=0.0, warmup_epochs=1.0, grad_accum=4, amp=False)
    steps = optimizer_steps(len(loader), optim.grad_accum)
    assert steps == 3  # 4 + 4 + a partial group of 2
    optimizer = torch.optim.SGD(model.parameters(), lr=optim.lr)
    scheduler = build_scheduler(optimizer, optim, steps, epochs=2)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    lrs = []
    for epoch in range(2):
        lrs.append(optimizer.param_groups[0]["lr"])
        train_one_epoch(model, loader, optimizer, scheduler, scaler, torch.device("cpu"), optim)
    assert scheduler.last_epoch == 6  # one scheduler step per optimiser step
    assert lrs[0] == pytest.approx(0.01)  # warmup starts at lr / 10
    assert lrs[1] == pytest.approx(0.1)  # warmup is one epoch of optimiser steps, not 4x longer
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine reaches 0 at the end


def test_best_is_not_the_first_lucky_epoch():
    from motionlens.training.session import choose_best

    rows = [{"epoch": 1, "val_video_top1": 4 / 12, "val_videos": 12}] + \
           [{"epoch": e, "val_video_top1": 3 / 12, "val_videos": 12} for e in range(2, 6)]
    epoch, reason = choose_best(rows)
    assert epoch == 5 and "within one standard error" in reason and "epoch 1" in reason
    # A clear improvement wins, and a later drop beyond the margin does not replace it.
    rows += [{"epoch": 6, "val_video_top1": 11 / 12, "val_videos": 12},
             {"epoch": 7, "val_video_top1": 6 / 12, "val_videos": 12}]
    assert choose_best(rows)[0] == 6
    # On a big validation split the margin is small: 0.90 vs 0.86 on 400 videos is a real difference.
    big = [{"epoch": 1, "val_video_top1": 0.90, "val_videos": 400}, {"epoch": 2, "val_video_top1": 0.86, "val_videos": 400}]
    assert choose_best(big)[0] == 1
    assert choose_best([{"epoch": 1, "train_acc": 0.5}, {"epoch": 2, "train_acc": 0.4}]) == \
        (2, "no validation split: the last epoch")


@pytest.mark.slow
def test_same_seed_same_metrics_with_workers(dataset, tmp_path):
    runs = [fit(config(dataset, tmp_path, "epochs=1", f"name=r{i}", "data.num_workers=2"), show_progress=False)
            for i in range(2)]
    rows = [next(csv.DictReader(open(r / "metrics.csv"))) for r in runs]
    for key in ("train_loss", "train_acc", "val_loss", "val_video_top1"):
        assert rows[0][key] == rows[1][key], key


def _torchrun(tmp_path, name, port, *extra):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port),
           "-m", "motionlens", "train", "--data", extra[0], "--model", "cnn3d_small", "--epochs", "2",
           "--workers", "0", "--batch-size", "2", "--clip-len", "4", "--set", "data.resize=32",
           "--set", "data.crop_size=28", "--out", str(tmp_path), "--name", name, *extra[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.slow
def test_ddp_two_gloo_processes_match_a_single_process_run(dataset, tmp_path):
    from motionlens.data.loader import make_loader
    from motionlens.data.pipeline import load_index, make_dataset
    from motionlens.data.spec import InputSpec
    from motionlens.training.checkpoint import restore_model
    from motionlens.training.distributed import DistInfo
    from motionlens.training.train import validate

    result = _torchrun(tmp_path, "ddp", 29533, dataset.spec)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("run folder:") + result.stdout.count("run folder:") == 1  # rank 0 logs only
    # The same global batch (2 ranks x 2) in one process.
    single = fit(config(dataset, tmp_path, "epochs=2", "name=single", "data.batch_size=4", "optim.lr=0.003"),
                 show_progress=False)
    ddp_state = read_training_checkpoint(tmp_path / "ddp" / "checkpoints" / "last.pt")
    one_state = read_training_checkpoint(single / "checkpoints" / "last.pt")
    assert ddp_state["scheduler"]["last_epoch"] == one_state["scheduler"]["last_epoch"]  # same optimiser steps
    ddp_rows = list(csv.DictReader(open(tmp_path / "ddp" / "metrics.csv")))
    one_rows = list(csv.DictReader(open(single / "metrics.csv")))
    assert len(ddp_rows) == len(one_rows) == 2
    assert [r["lr"] for r in ddp_rows] == [r["lr"] for r in one_rows]  # the schedule is sized per rank
    assert ddp_rows[-1]["val_videos"] == one_rows[-1]["val_videos"] == "2"  # each video once, padding dropped
    # What the ranks validated together is what one process gets on the same weights.
    cfg = config(dataset, tmp_path, "epochs=2", "data.batch_size=2")
    cfg = config_mod.from_dict(TrainConfig, ddp_state["config"])  # resolved: eval protocol and all
    index = load_index(cfg.data, show_progress=False)
    val = make_dataset(index.subset("val"), InputSpec.from_dict(ddp_state["pipeline"]), False, cfg.data)
    loader = make_loader(val, cfg.data.batch_size, False, 0, cfg.seed)
    alone = validate(restore_model(ddp_state), loader, cfg, torch.device("cpu"), DistInfo(), index.num_classes, False)
    assert float(ddp_rows[-1]["val_loss"]) == pytest.approx(alone["val_loss"], rel=1e-4)
    assert float(ddp_rows[-1]["val_video_top1"]) == pytest.approx(alone["val_video_top1"])


@pytest.mark.slow
def test_ddp_ranks_stop_together_on_an_existing_run_folder(dataset, tmp_path):
    (tmp_path / "taken" / "checkpoints").mkdir(parents=True)
    (tmp_path / "taken" / "checkpoints" / "last.pt").write_bytes(b"x")
    result = _torchrun(tmp_path, "taken", 29534, dataset.spec)  # hung in a collective before the fix
    assert result.returncode != 0
    assert "already has checkpoints" in result.stderr + result.stdout


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


def test_flow_modality_with_a_three_channel_model_trains_on_flow_statistics(dataset, tmp_path):
    from motionlens.data.flow_dataset import FLOW_MEAN, FLOW_STD
    from motionlens.dataprep.flow import extract_dataset

    extract_dataset(build_index(dataset.spec), tmp_path / "flow", workers=1, show_progress=False)
    # cnn3d_small's weights record holds 3-channel RGB statistics; flow has 2 channels.
    result = run_cli("train", "--data", dataset.spec, "--model", "cnn3d_small", "--epochs", "1", "--clip-len", "4",
                     "--batch-size", "4", "--workers", "1", "--modality", "flow", "--flow-root", tmp_path / "flow",
                     "--set", "data.resize=32", "--set", "data.crop_size=28", "--out", tmp_path, "--name", "flow")
    assert result.returncode == 0, result.stderr[-2000:]
    state = read_training_checkpoint(tmp_path / "flow" / "checkpoints" / "last.pt")
    assert tuple(state["pipeline"]["mean"]) == tuple(FLOW_MEAN) and tuple(state["pipeline"]["std"]) == tuple(FLOW_STD)
    assert state["model"]["stem.0.weight"].shape[1] == 2
