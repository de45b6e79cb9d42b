"""Checkpoints under faults: training killed (SIGKILL) at random moments and mid-write always
resumes from an intact checkpoint; a full disk is one clear error that keeps the last one."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from motionlens.dataprep.synth import synthesize
from motionlens.training.checkpoint import WRITE_DELAY_ENV, read_training_checkpoint
from tests.conftest import CliServer

pytestmark = pytest.mark.slow  # kills and resumes training runs

TINY = ["--model", "cnn3d_small", "--clip-len", "4", "--batch-size", "4", "--workers", "0", "--max-steps", "1",
        "--set", "data.resize=32", "--set", "data.crop_size=28", "--set", "eval_every=1000", "--set", "save_every=0"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    return synthesize(root / "data", layout="folder", num_classes=2, videos_per_class=3, size=(32, 48), fps=10.0,
                      duration=0.6, seed=0)


@pytest.fixture(scope="module")
def trainer():
    """Training runs to start, kill and resume without a torch import each (see `_cli_server.py`)."""
    trainer = CliServer()
    yield trainer
    trainer.close()


def mid_write(ckpts: Path) -> bool:
    return any(ckpts.glob(".last.pt.*.tmp"))


def test_sigkill_at_random_moments_always_resumes_from_an_intact_checkpoint(dataset, trainer, tmp_path):
    run = tmp_path / "runs" / "r"
    ckpts = run / "checkpoints"
    first = ["train", "--data", dataset.spec, *TINY, "--epochs", "1000", "--out", str(tmp_path / "runs"),
             "--name", "r"]
    resume = ["train", "--resume", str(run)]
    # Every write of a checkpoint sleeps a little, so a checkpoint takes ~0.2 s to write: wide
    # enough for kills to land inside it (what the hook is for).
    log, env = tmp_path / "train.log", {WRITE_DELAY_ENV: "0.0005"}
    rng = random.Random(13)
    kills = {"random": 0, "mid_write": 0}
    epochs_seen, pid = [], None
    try:
        for attempt in range(20):
            started_from = read_training_checkpoint(ckpts / "last.pt")["epoch"] if (ckpts / "last.pt").exists() else 0
            stamp = (ckpts / "last.pt").stat().st_mtime_ns if started_from else None
            pid = trainer.start(resume if started_from else first, log, env=env)
            hit = False
            if attempt % 2:  # after this run's first checkpoint, kill inside its next write
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and (not (ckpts / "last.pt").exists()
                                                       or (ckpts / "last.pt").stat().st_mtime_ns == stamp):
                    time.sleep(0.002)
                while time.monotonic() < deadline and not mid_write(ckpts):
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.08))
                hit = mid_write(ckpts)
            else:  # anywhere: start-up, training, validation or a write
                time.sleep(rng.uniform(0.1, 1.5))
            os.kill(pid, signal.SIGKILL)
            status, pid = trainer.wait(), None  # reaped: its pid must not be signalled again
            assert status == -signal.SIGKILL, log.read_text()[-2000:]
            kills["mid_write" if hit else "random"] += 1
            if (ckpts / "last.pt").exists():
                state = read_training_checkpoint(ckpts / "last.pt")  # intact: loads, and never goes back
                assert state["epoch"] >= started_from and len(state["history"]) == state["epoch"]
                epochs_seen.append(state["epoch"])
        # A last resume: it must carry on from the last intact checkpoint, one epoch after it.
        last = read_training_checkpoint(ckpts / "last.pt")["epoch"]
        stamp = (ckpts / "last.pt").stat().st_mtime_ns
        pid = trainer.start(resume, log, env=env)
        deadline = time.monotonic() + 60
        while (ckpts / "last.pt").stat().st_mtime_ns == stamp and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(pid, signal.SIGKILL)
        trainer.wait()
        pid = None
    finally:
        if pid is not None:  # an assertion failed while a child ran
            trainer.kill(pid)
            trainer.wait()
    state = read_training_checkpoint(ckpts / "last.pt")
    assert state["epoch"] >= last + 1 and [row["epoch"] for row in state["history"]] == list(range(1, state["epoch"] + 1))
    log = (tmp_path / "train.log").read_text()
    assert "Traceback" not in log and "error" not in log
    assert sum(kills.values()) == 20 and kills["mid_write"] >= 5, kills
    assert last >= 3 and epochs_seen == sorted(epochs_seen)
    print(f"\n20 kills: {kills}; checkpoint epoch after each kill: {epochs_seen}; resumed to {state['epoch']}")


def test_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(dataset, trainer, tmp_path):
    log = tmp_path / "train.log"
    args = ["train", "--data", dataset.spec, *TINY, "--epochs", "1", "--out", tmp_path / "runs", "--name", "r"]
    trainer.start(args, log)
    assert trainer.wait() == 0, log.read_text()
    last = tmp_path / "runs" / "r" / "checkpoints" / "last.pt"
    size = last.stat().st_size
    before = read_training_checkpoint(last)

    log.write_text("")
    # In the child only: no file may grow past half a checkpoint (what a writer sees of a full disk).
    trainer.start(["train", "--resume", last.parent.parent, "--epochs", "2"], log, fsize=size // 2)
    status = trainer.wait()
    output = log.read_text()
    assert status == 1, output
    assert [line for line in output.splitlines() if line.startswith("error")] == [
        f"error: cannot write checkpoint {last}: File too large (disk full or file size limit); "
        "the previous last.pt is intact"]
    assert "Traceback" not in output
    after = read_training_checkpoint(last)
    assert after["epoch"] == before["epoch"] == 1 and last.stat().st_size == size
    assert not list(last.parent.glob(".*.tmp"))
