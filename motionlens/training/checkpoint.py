"""Checkpoints are plain dicts, written atomically and read with weights_only=True.

A checkpoint is written to a temporary file beside its target, flushed to disk and renamed over
it, so a process killed at any moment leaves either the old file or the new one, never half of
one. A full disk (or any failed write) is one TaskFailed error that keeps the previous file.
"""

from __future__ import annotations

import errno
import os
import random
import time
from pathlib import Path
from typing import Any

import torch

from ..core.atomic import atomic_write
from ..core.errors import MotionlensError, TaskFailed
from ..models.weights import read_torch_file

# Seconds to sleep on every write while saving: a test hook that widens the window in which a
# kill lands mid-write (tests/training/test_checkpoint_faults.py). Unset in normal use.
WRITE_DELAY_ENV = "MOTIONLENS_TEST_CHECKPOINT_WRITE_DELAY"


class _WriteRecorder:
    """A binary file that remembers the OSError of a failed write: torch.save turns it into an
    unreadable RuntimeError ("unexpected pos ..."), and the user needs to know the disk is full."""

    def __init__(self, f, delay: float):
        self.f, self.delay, self.error = f, delay, None

    def write(self, data) -> int:
        if self.delay:
            time.sleep(self.delay)
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.f.flush()


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` to a temporary file beside `path`, then rename: a crash never leaves half a file.
    A failed write (full disk, file size limit, I/O error) raises TaskFailed and keeps the old `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a process killed mid-write
        stale.unlink(missing_ok=True)
    recorder = None
    try:
        # durable: fsync the file and the folder, so a power cut right after cannot bring back the old file
        with atomic_write(path, "wb", durable=True) as f:
            recorder = _WriteRecorder(f, float(os.environ.get(WRITE_DELAY_ENV) or 0))
            torch.save(state, recorder)
    except BaseException as err:
        cause = recorder.error if recorder is not None and recorder.error is not None else err
        if isinstance(cause, OSError):
            full = cause.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
            kept = f"; the previous {path.name} is intact" if path.exists() else ""
            raise TaskFailed(f"cannot write checkpoint {path}: {cause.strerror or cause}"
                             f"{' (disk full or file size limit)' if full else ''}{kept}") from None
        raise
    return path


def read_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The dict `save_checkpoint` wrote (a "model" state_dict and whatever else training stored),
    read by the one file reader (`models.weights.read_torch_file`). Errors are one line."""
    path = Path(path)
    state = read_torch_file(path, kind="checkpoint")
    if not isinstance(state, dict) or "model" not in state:
        raise MotionlensError(f"{path}: not a motionlens checkpoint (no 'model' entry)")
    return state


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resolve_checkpoint(run_or_checkpoint: str | os.PathLike, which: str = "best") -> Path:
    """A checkpoint file from a run folder (its best, else last) or a file path."""
    path = Path(run_or_checkpoint)
    if path.is_dir():
        for name in (f"{which}.pt", "best.pt", "last.pt"):
            if (path / "checkpoints" / name).is_file():
                return path / "checkpoints" / name
        raise MotionlensError(f"{path} is not a run folder (no checkpoints/best.pt or checkpoints/last.pt): pass a "
                              "folder written by `motionlens train` or a checkpoint file")
    if not path.exists():
        raise MotionlensError(f"run folder or checkpoint not found: {path}")
    return path


def restore_model(state: dict[str, Any]) -> torch.nn.Module:
    """The trained model of a checkpoint written by `motionlens train`."""
    from ..models import create_model

    missing = [k for k in ("classes", "pipeline", "model_name") if k not in state]
    if missing:
        raise MotionlensError(f"not a checkpoint written by `motionlens train` (no {', '.join(missing)})")
    model = create_model(state["model_name"], num_classes=len(state["classes"]), **state.get("model_options", {}))
    model.load_state_dict(state["model"])
    return model


def prune_epoch_checkpoints(folder: str | os.PathLike, keep: int | None) -> list[Path]:
    """Delete all but the newest `keep` epoch_N.pt files in `folder` (None keeps all); last.pt
    and best.pt are separate files and never touched. Returns what was deleted."""
    if keep is None:
        return []
    epochs = sorted(Path(folder).glob("epoch_*.pt"), key=lambda p: int(p.stem.partition("_")[2] or 0))
    doomed = epochs[: max(len(epochs) - keep, 0)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def describe_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> str:
    """Which epoch a checkpoint holds and why it was chosen, for eval to print next to its figures."""
    path = Path(path)
    epochs = (state.get("config") or {}).get("epochs")
    text = f"{path.name}: epoch {state.get('epoch', '?')}" + (f" of {epochs}" if epochs else "")
    best = state.get("best")
    if path.name == "best.pt" and isinstance(best, dict):
        return f"{text}, chosen as best by {best['reason']}"
    if path.name == "last.pt":
        return f"{text} (the last checkpoint)"
    return text
