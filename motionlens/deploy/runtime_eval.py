"""`motionlens eval` on another runtime: an export folder, or a run with --backend/--precision.

The model becomes a `BackendModule` (any `deploy.backends` backend as an `nn.Module`) inside a
`training.runs.Run`, so evaluation is the one in `training.evaluate`, unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn

from ..core.errors import MotionlensError


class BackendModule(nn.Module):
    """A backend as a module: float `(B, C, T, H, W)` -> `(B, K)` logits."""

    def __init__(self, backend, num_classes: int):
        super().__init__()
        self.backend, self.num_classes = backend, num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backend(x)


def load_runtime_run(model_or_run: str | os.PathLike, data: str | None, backend: str = "auto",
                     precision: str = "auto", annotations: str | None = None, batch_size: int | None = None,
                     num_workers: int | None = None):
    """A `Run` whose model runs on the chosen runtime. An export folder needs `data`; it keeps the
    evaluation protocol (clips, crops, sampler) of the run it was exported from."""
    from .. import config as config_mod
    from ..config import TrainConfig
    from ..data.spec import InputSpec
    from ..training.runs import Run, load_run
    from .backends import describe, export_backend, module_backend
    from .export_dir import IR_FILES, is_export_dir, read_export

    overrides = {k: v for k, v in (("batch_size", batch_size), ("num_workers", num_workers)) if v is not None}
    if not is_export_dir(model_or_run):
        run = load_run(model_or_run, data=data, annotations=annotations, batch_size=batch_size, num_workers=num_workers)
        pipe = run.pipeline
        example = torch.zeros(1, getattr(run.model, "in_chans", 3), pipe.clip_len, pipe.crop_size, pipe.crop_size)
        chosen = module_backend(run.model, example, backend, precision)
        run.model = BackendModule(chosen, len(run.classes))
        run.note = f"{run.note} | {describe(chosen)}"
        return run
    meta = read_export(model_or_run)
    if not data:
        raise MotionlensError(f"{model_or_run} is an export: pass --data LAYOUT:ROOT to evaluate it on")
    kept = {k: v for k, v in meta.get("data_config", {}).items() if v is not None}
    # an export of a model name has no protocol of its own: 5 clips x 1 crop, the usual reference
    data_cfg = {"eval_clips": 5, "eval_crops": 1, **kept, **overrides, "dataset": data, "annotations": annotations}
    cfg = config_mod.merge(config_mod.from_dict(TrainConfig, {}), {"data": data_cfg})
    chosen = export_backend(str(model_or_run), backend, precision)
    return Run(model=BackendModule(chosen, len(meta["classes"])), pipeline=InputSpec.from_dict(meta["pipeline"]),
               classes=list(meta["classes"]), config=cfg, checkpoint=Path(model_or_run) / IR_FILES[0],
               note=f"{Path(model_or_run).name}: {describe(chosen)} export of {meta.get('source')}")


def evaluate_runtime(model_or_run: str | os.PathLike, data: str | None, out_dir: str | os.PathLike,
                     backend: str = "auto", precision: str = "auto", annotations: str | None = None,
                     batch_size: int | None = None, num_workers: int | None = None, **kwargs) -> dict:
    """`training.evaluate.evaluate_checkpoint` with the model on the chosen runtime (kwargs: its own)."""
    from ..training.evaluate import evaluate_checkpoint

    run = load_runtime_run(model_or_run, data, backend, precision, annotations, batch_size, num_workers)
    kwargs["device"] = "cpu"  # every backend returns CPU tensors; OpenVINO runs on the CPU
    return evaluate_checkpoint(model_or_run, data, out_dir, annotations=annotations, run=run, **kwargs)
