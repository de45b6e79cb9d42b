"""Shared by the learning tests: tiny sizes, and training and evaluation through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

# About a minute of CPU time per 10 epochs of 70 videos on 2 cores: 8 frames, the whole frame at 32x32, 1 clip
# per video at validation and evaluation.
TINY = ["--model", "cnn3d_small", "--clip-len", "8", "--batch-size", "8", "--workers", "1",
        "--set", "data.resize=[32,32]", "--set", "data.crop_size=32", "--set", "data.eval_clips=1"]


def run_in_process(*args) -> None:
    """The `motionlens` command line, in this process: the same code as the console script without
    the 3-5 s of CPU that a fresh interpreter spends importing torch. For the steps a test does
    not measure the entry point with (it raises where the script would print one line)."""
    from motionlens.cli import cli

    cli.main(args=[str(a) for a in args], prog_name="motionlens", standalone_mode=False)


def train(data, out: Path, name: str, *flags, subprocess: bool = True) -> Path:
    """`motionlens train` on the synthetic dataset `data` at TINY sizes, as the console script
    (or in this process); returns the run folder."""
    args = ["train", "--data", data.spec, *TINY, "--out", out, "--name", name, *flags]
    if subprocess:
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr[-2000:]
    else:
        run_in_process(*args)
    return Path(out) / name


def evaluate(run_dir: Path) -> dict:
    """`motionlens eval RUN --subset test` (in this process); returns its metrics.json."""
    out = run_dir.with_name(f"{run_dir.name}-eval")
    run_in_process("eval", run_dir, "--subset", "test", "--workers", "1", "--out", out)
    return json.loads((out / "metrics.json").read_text())


def train_and_eval(data, out: Path, name: str, *flags) -> dict:
    return evaluate(train(data, out, name, *flags))
