"""Checkpoints are plain dicts, written atomically and read with weights_only=True."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import torch

from ..errors import MotionlensError


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write `state` to a temporary file beside `path`, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise MotionlensError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle errors, truncation, a non-checkpoint file
        raise MotionlensError(f"{path}: not a readable checkpoint ({type(err).__name__}: {str(err).splitlines()[0]})") from None
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
        raise MotionlensError(f"{path}: no checkpoints/best.pt or checkpoints/last.pt in this run folder")
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
