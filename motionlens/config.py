"""Run configuration: typed dataclasses with commented defaults, then a YAML recipe, then CLI flags.

Unknown keys, wrong types and values outside their choices (model names, modalities,
optimisers...) raise a one-line ConfigError when a config is read. Keys left at None are decided
once per run by `data.spec.resolve_input` (the recipe below, the weights' input contract); that
resolved config is saved as `run_dir/config.yaml` and stored in every checkpoint, so a run can
always be reproduced.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .core.errors import ConfigError, MotionlensError


@dataclass
class DataConfig:
    dataset: str = ""  # "layout:root", e.g. "hmdb51:/data/hmdb51" (layouts: folder, hmdb51, ucf101, kinetics, list, hara, auto); older configs call it `data`
    annotations: str | None = None  # folder or file with the split/annotation files, when they are not under root
    split: int = 1  # official split (1-3) for HMDB51 / UCF101
    val_fraction: float = 0.1  # stratified, seeded share of train held out for validation when the layout has no val split
    clip_len: int | None = None  # frames per clip; None = the model's default
    frame_stride: int | None = None  # take every n-th frame; None = the model's default
    clip_seconds: float | None = None  # spread clip_len frames evenly over this many seconds (PyTorchVideo); None = the weights' choice
    target_fps: float | str | None = None  # resample every video to this rate first; native = the video's own; None = the weights' rate
    resize: int | list[int] | None = None  # short side (or [H, W]) before cropping; None = the weights' resize
    decoder_resize: bool = False  # resize while decoding (faster, other pixels); only where the weights' contract allows it
    crop_size: int | None = None  # square crop; None = the model's default
    train_sampler: str | None = None  # random (one dense clip) | tsn (clip_len frames spread over the whole video); None = the recipe's (see RECIPES)
    hflip: bool | None = None  # random horizontal flips in training; off for classes that a mirror changes (left vs right); None = the recipe's
    color_jitter: bool = False  # random brightness / contrast / saturation in training
    eval_clips: int | None = None  # clips per video at validation and `motionlens eval` (uniform; the tsn sampler takes 1); None = the weights' reference evaluation (X3D: 10), else 5
    eval_crops: int | None = None  # 1 (centre) or 3 (three crop) per clip at validation and `motionlens eval`; None = the weights' reference (X3D: 3), else 1
    batch_size: int = 8
    num_workers: int = 2  # DataLoader worker processes (0 = decode in the main process)
    frames_fps: float = 25.0  # rate assumed for folders of extracted frames, which store none
    max_bad_videos: int = 50  # an epoch stops with an error after this many undecodable videos
    max_damaged_fraction: float = 0.25  # a clip with more of its frames damaged (corrupt data, each filled with the nearest good frame) is dropped like an undecodable video
    modality: str | None = None  # None = the recipe's | rgb | diff (frame differences, TSN's RGB difference) | rgb_diff (frames, then their differences) | flow | rgb+flow (flow reads `flow_root`, see `motionlens flow`)
    flow_root: str | None = None  # root of extracted flow, for modality "flow"


@dataclass
class ModelConfig:
    name: str = "r3d_18"  # see `motionlens models`
    pretrained: str | None = None  # None, a weights tag such as "kinetics400", or a .pth/.pt/.safetensors path
    finetune_from: str | None = None  # freeze every stage before this one (e.g. "layer4")
    freeze: list[str] = field(default_factory=list)  # or name the stages to freeze explicitly
    freeze_bn: bool = False  # keep BatchNorm statistics and affine parameters fixed (small batches)
    options: dict[str, Any] = field(default_factory=dict)  # extra builder arguments, e.g. {shortcut_type: A}


@dataclass
class OptimConfig:
    optimizer: str | None = None  # sgd | adamw; None = the recipe's (see RECIPES)
    lr: float | None = None  # backbone learning rate (for batch_size 8; scale linearly); None = the recipe's
    head_lr: float | None = None  # learning rate of the new head; None = lr
    momentum: float = 0.9  # SGD only
    weight_decay: float | None = None  # not applied to biases and norm layers; None = the recipe's
    scheduler: str = "cosine"  # cosine | step | constant, after warmup
    warmup_epochs: float | None = None  # linear warmup from lr/10, in optimiser steps' worth of epochs; None = the recipe's
    step_size: int = 10  # epochs between decays, for "step"
    gamma: float = 0.1  # decay factor, for "step"
    label_smoothing: float = 0.0
    grad_accum: int = 1  # optimiser step every n batches (effective batch = n * batch_size)
    grad_clip: float | None = None  # clip the gradient norm to this value
    amp: bool = True  # mixed precision on CUDA (ignored on CPU, where bf16 autocast is far slower)


@dataclass
class TrainConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    epochs: int | None = None  # None = the recipe's (see RECIPES)
    seed: int = 0  # same seed and config on CPU give identical metrics
    out: str = "runs"  # runs are written to out/name
    name: str | None = None  # run folder name; None = <model>-<dataset>-<time>
    save_every: int = 1  # write checkpoints/epoch_N.pt every n epochs (best and last are always kept)
    keep_epochs: int | None = 2  # keep only the newest n epoch_N.pt files (None = all): an r3d_18 checkpoint is ~130 MB
    eval_every: int = 1  # validate every n epochs
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    sync_bn: bool = False  # SyncBatchNorm under torchrun / DDP
    max_steps: int | None = None  # stop each epoch after this many steps (smoke tests, lr-find)


# What the keys left at None above mean. A model trained from scratch and one that starts from
# pretrained weights want different recipes; one table owns both, so `motionlens train`, lr-find
# and the demo agree (`data.spec.resolve_input` applies it). The figures behind each choice are in
# docs/training.md.
#
# scratch: frames spread over the whole video (TSN-style segments), so a clip sees the action from
#   start to end; frame differences only, because motion is what tells such classes apart and with
#   the frames appended a small net learns the videos' looks instead; no flips, because a mirror
#   turns "move left" into "move right"; AdamW with warmup into one cosine cycle.
# pretrained: torchvision's fine-tuning reference: SGD with momentum, dense RGB clips as the
#   weights were trained on, flips on.
# own_weights: a weights file of a model with no published weights (cnn3d_small) was made by
#   training it here from scratch, so it expects the scratch recipe's input (RGB frames do not fit
#   a stem trained on frame differences); the optimiser is the fine-tuning one.
_FINETUNE_OPTIM = {"optimizer": "sgd", "lr": 0.01, "weight_decay": 1e-4, "warmup_epochs": 0.0}
RECIPES: dict[str, dict[str, Any]] = {
    "scratch": {
        "epochs": 30,
        "data": {"train_sampler": "tsn", "modality": "diff", "hflip": False},
        "optim": {"optimizer": "adamw", "lr": 3e-3, "weight_decay": 0.05, "warmup_epochs": 2.0},
    },
    "pretrained": {
        "epochs": 10,
        "data": {"train_sampler": "random", "modality": "rgb", "hflip": True},
        "optim": _FINETUNE_OPTIM,
    },
    "own_weights": {
        "epochs": 10,
        "data": {"train_sampler": "tsn", "modality": "diff", "hflip": False},
        "optim": _FINETUNE_OPTIM,
    },
}


MODALITIES = ("rgb", "diff", "rgb_diff", "flow", "rgb+flow")
TRAIN_SAMPLERS = ("random", "tsn")
OPTIMIZERS = ("sgd", "adamw")
SCHEDULERS = ("cosine", "step", "constant")
_CHOICES = {("data", "modality"): MODALITIES, ("data", "train_sampler"): TRAIN_SAMPLERS,
            ("optim", "optimizer"): OPTIMIZERS, ("optim", "scheduler"): SCHEDULERS}


def validate(cfg: "TrainConfig") -> "TrainConfig":
    """`cfg` unchanged, or a one-line ConfigError naming the first key whose value is not allowed."""
    for (section, key), allowed in _CHOICES.items():
        value = getattr(getattr(cfg, section), key)
        if value is not None and value not in allowed:
            raise ConfigError(f"{section}.{key}: '{value}' is not one of {', '.join(allowed)}")
    target = cfg.data.target_fps
    if isinstance(target, str) and target != "native":
        raise ConfigError(f"data.target_fps: a number, native, or unset (the weights' rate), got {target!r}")
    if cfg.data.eval_crops not in (None, 1, 3):
        raise ConfigError(f"data.eval_crops: 1 or 3, got {cfg.data.eval_crops}")
    from .models.registry import get_builder

    try:
        get_builder(cfg.model.name)
    except MotionlensError as err:
        raise ConfigError(f"model.name: {err}") from None
    return cfg


def recipe_name(cfg: "TrainConfig") -> str:
    """scratch without weights; pretrained for published weights (a tag, or a file of a model
    that has some: it is read with their contract); own_weights for a file of a model with none."""
    if not cfg.model.pretrained:
        return "scratch"
    from .models import get_weights

    return "pretrained" if get_weights(cfg.model.name) else "own_weights"


def recipe(cfg: "TrainConfig") -> dict[str, Any]:
    """The RECIPES entry that decides `cfg`'s keys left at None."""
    return RECIPES[recipe_name(cfg)]


def fill_recipe(cfg: "TrainConfig") -> "TrainConfig":
    """`cfg` with every key left at None set from its recipe; `data.spec.resolve_input` calls it."""

    def fill(node: Any, table: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in table.items():
            current = getattr(node, key)
            if isinstance(value, dict):
                out[key] = fill(current, value)
            elif current is None:
                out[key] = value
        return out

    return merge(cfg, fill(cfg, recipe(cfg)))


def _check_type(value: Any, hint: Any, key: str) -> Any:
    """Return `value` converted to `hint` where that is lossless (int -> float), else raise."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        errors = []
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            try:
                return _check_type(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{key}: bad value {value!r}")
    if hint is Any:
        return value
    if origin is list:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint) or (Any,)
        return [_check_type(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}")
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(f"{key}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


def merge(cfg: Any, updates: dict[str, Any], prefix: str = "") -> Any:
    """A copy of dataclass `cfg` with nested `updates` applied; unknown keys, wrong types and (for a
    whole TrainConfig) values outside their choices raise."""
    if isinstance(cfg, DataConfig) and "data" in updates:  # the key's name before `dataset`, in older runs
        updates = {("dataset" if k == "data" and "dataset" not in updates else k): v for k, v in updates.items()}
    hints = typing.get_type_hints(type(cfg))
    changes = {}
    for key, value in updates.items():
        full = f"{prefix}{key}"
        if key not in hints:
            known = ", ".join(hints)
            raise ConfigError(f"unknown config key '{full}' (known here: {known})")
        current = getattr(cfg, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{full}: expected a mapping of {type(current).__name__} keys")
            changes[key] = merge(current, value, prefix=f"{full}.")
        else:
            changes[key] = _check_type(value, hints[key], full)
    out = dataclasses.replace(cfg, **changes)
    return validate(out) if isinstance(out, TrainConfig) and not prefix else out


def parse_override(text: str) -> dict[str, Any]:
    """`optim.lr=0.1` -> {"optim": {"lr": 0.1}}; the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override '{text}' is not of the form key=value (e.g. optim.lr=0.01)")
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except yaml.YAMLError:
        value = raw
    nested: dict[str, Any] = {}
    node = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def deep_update(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = deep_update(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def resolve(cls: type, recipe: str | Path | None = None, *updates: dict) -> Any:
    """Defaults of `cls`, then the YAML `recipe`, then each update mapping, in that order."""
    merged: dict = load_yaml(recipe) if recipe else {}
    for update in updates:
        merged = deep_update(merged, update)
    try:
        return merge(cls(), merged)
    except ConfigError as err:
        raise ConfigError(f"{recipe}: {err}" if recipe else str(err)) from None


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def from_dict(cls: type, data: dict) -> Any:
    return merge(cls(), data)


def save_yaml(cfg: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    return path
