"""What a model costs: parameters and multiply-adds at its default input, and its weights' input contracts."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from .factory import create_model
from .registry import get_weights


def model_summary(name: str) -> dict:
    """Parameters, GMACs at the default input, input size and weights tags of one model.

    The model is built on the ``meta`` device: shapes only, no memory and no arithmetic, so
    counting every model takes well under a second each.
    """
    with torch.device("meta"):
        model = create_model(name).eval()
        x = torch.empty(1, *model.cfg.input_size)  # (1, C, T, H, W)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return {
        "name": name,
        "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        # FlopCounterMode counts a multiply-add as 2 FLOPs; papers' "FLOPs" are multiply-adds.
        "gmacs": counter.get_total_flops() / 2 / 1e9,
        "input": model.cfg.input_size,
        "weights": list(get_weights(name)),
    }


def weights_rows(names: list[str]) -> list[dict[str, str]]:
    """One row per weights file of the models `names`: its input contract and where it comes from."""
    rows = []
    for name in names:
        for tag, cfg in get_weights(name).items():
            rows.append({"model": name, "weights": tag, "classes": str(cfg.num_classes),
                         "download": "yes" if cfg.url else "by path", **cfg.contract(), "source": cfg.source})
    return rows
