"""Faster CPU inference paths for a model: channels-last 3D memory format, or frozen TorchScript.

The one place a model is optimised for inference: `predict` and `watch` run the "torchscript"
path (`Predictor(fast=True)`, the CLI's default), and ``benchmarks/models.py`` (per clip) and
``benchmarks/realtime.py`` (whole videos) measure it against eager.
bf16 autocast is deliberately absent: on CPUs without AMX it is hundreds of times slower.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable

import torch
import torch.nn as nn

from ..core.errors import MotionlensError

METHODS = ("eager", "channels_last", "torchscript")


class _ChannelsLast(nn.Module):
    """Runs a channels-last copy of a model and feeds it channels-last clips."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last_3d))


def optimize_for_inference(
    model: nn.Module, example: torch.Tensor, method: str = "torchscript"
) -> Callable[[torch.Tensor], torch.Tensor]:
    """An eval-mode callable computing ``model(x)`` for clips shaped like ``example`` ``(B, C, T, H, W)``.

    ``"eager"``: the model in eval mode. ``"channels_last"``: a copy in ``channels_last_3d``
    (5-D weights only; 2-D encoders keep their layout), fed channels-last clips.
    ``"torchscript"``: that copy traced on ``example``, frozen (BatchNorm folded into
    convolutions) and run twice, so the first calls that specialise the graph are paid here; it
    only accepts that input shape reliably. A model that cannot be traced raises (torch's
    error). The original model is left untouched except for ``eval()``.
    """
    if method not in METHODS:
        raise MotionlensError(f"unknown inference method {method!r}: use one of {', '.join(METHODS)}")
    model.eval()
    if method == "eager":
        return model
    fast = copy.deepcopy(model)
    for param in list(fast.parameters()) + list(fast.buffers()):
        if param.dim() == 5:
            param.data = param.data.contiguous(memory_format=torch.channels_last_3d)
    if method == "channels_last":
        return _ChannelsLast(fast).eval()
    x = example.contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode(), warnings.catch_warnings():
        # TorchScript is deprecated in favour of torch.compile, which needs a C++ toolchain and
        # minutes of compilation per model; tracing still works and folds BatchNorm.
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+.* is deprecated")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        traced = torch.jit.freeze(torch.jit.trace(fast, x, check_trace=False))
        traced(x)
        traced(x)
    return _ChannelsLast(traced).eval()
