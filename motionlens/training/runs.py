"""A trained run as one record: what eval, fusion, predict, watch and export load from a run folder
or a checkpoint written by `motionlens train`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn

from .. import config as config_mod
from ..config import TrainConfig
from ..data.spec import InputSpec
from ..core.errors import MotionlensError
from .checkpoint import describe_checkpoint, read_training_checkpoint, resolve_checkpoint, restore_model


@dataclass
class Run:
    """One trained run, loaded: everything needed to evaluate it or to predict with it."""

    model: nn.Module  # the trained weights, on the CPU
    pipeline: InputSpec  # the input contract it was trained with
    classes: list[str]
    config: TrainConfig  # as trained, with the caller's overrides
    checkpoint: Path  # the file read
    note: str  # which checkpoint and why, e.g. "best.pt: epoch 12 of 35, chosen as best by ..."


def load_run(run_or_checkpoint: str | os.PathLike, which: str = "best", data: str | None = None,
             annotations: str | None = None, flow_root: str | os.PathLike | None = None,
             batch_size: int | None = None, num_workers: int | None = None) -> Run:
    """A run folder (its `which` checkpoint, else best, else last) or a checkpoint file as a Run.

    `data` (with its `annotations`), `flow_root`, `batch_size` and `num_workers` override what
    the run trained with. Every problem is a one-line MotionlensError naming the file."""
    path = resolve_checkpoint(run_or_checkpoint, which)
    state = read_training_checkpoint(path)
    try:
        model = restore_model(state)
    except MotionlensError as err:
        raise MotionlensError(f"{path}: {err}; for a plain state_dict pass a model name and --pretrained {path}") from None
    updates: dict = {}
    if data:
        updates.update(dataset=data, annotations=annotations)
    for key, value in (("flow_root", str(flow_root) if flow_root else None), ("batch_size", batch_size),
                       ("num_workers", num_workers)):
        if value is not None:
            updates[key] = value
    cfg = config_mod.merge(config_mod.from_dict(TrainConfig, state.get("config") or {}), {"data": updates})
    return Run(model=model, pipeline=InputSpec.from_dict(state["pipeline"]), classes=list(state["classes"]),
               config=cfg, checkpoint=path, note=describe_checkpoint(path, state))
