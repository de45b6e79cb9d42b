"""The model registry: `register_model`, `create_model`, `list_models`, `get_model_cfg`.

A builder is a plain function ``name(num_classes=..., **kwargs) -> nn.Module`` decorated with
``@register_model``. Its module may define ``default_cfgs = {name: {tag: ModelCfg}}`` *before*
the builder; tag ``""`` is the architecture default, other tags are downloadable weights.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import sys
from typing import Callable

import torch.nn as nn

from ..core.errors import MotionlensError
from .cfg import ModelCfg, for_model

_builders: dict[str, Callable[..., nn.Module]] = {}
_cfgs: dict[str, dict[str, ModelCfg]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register a builder under its function name; the built model gets its ``cfg`` attached."""
    name = fn.__name__
    if name in _builders:
        raise ValueError(f"model {name!r} is already registered (by {_builders[name].__module__})")
    tables = getattr(sys.modules.get(fn.__module__), "default_cfgs", {})
    _cfgs[name] = dict(tables.get(name, {})) or {"": ModelCfg(name=name)}

    @functools.wraps(fn)
    def build(*args, **kwargs) -> nn.Module:
        model = fn(*args, **kwargs)
        cfg = get_model_cfg(name)
        model.cfg = for_model(
            cfg, getattr(model, "num_classes", cfg.num_classes), getattr(model, "in_chans", cfg.in_chans)
        )
        return model

    _builders[name] = build
    return build


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern``, sorted."""
    return sorted(n for n in _builders if fnmatch.fnmatch(n, pattern))


def get_weights(name: str) -> dict[str, ModelCfg]:
    """``{tag: ModelCfg}`` of the downloadable weights of model ``name`` (may be empty)."""
    return {tag: cfg for tag, cfg in _table(name).items() if tag}


def get_model_cfg(name: str) -> ModelCfg:
    """The cfg a model gets when built without weights: the architecture's own ("" tag) if it
    states one, else that of its first weights (so a model trained from scratch is fed as its
    published weights were)."""
    table = _table(name)
    if "" in table:
        return table[""]
    return next(iter(table.values()))


def get_builder(name: str) -> Callable[..., nn.Module]:
    """The registered builder of model ``name``."""
    builder = _builders.get(name)
    if builder is None:
        raise MotionlensError(_unknown_name_message(name))
    return builder


def _table(name: str) -> dict[str, ModelCfg]:
    if name not in _cfgs:
        raise MotionlensError(_unknown_name_message(name))
    return _cfgs[name]


def _unknown_name_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(_builders), n=5, cutoff=0.4)
    hint = f"did you mean {', '.join(close)}?" if close else f"known models: {', '.join(list_models())}"
    return f"unknown model {name!r}: {hint}"
