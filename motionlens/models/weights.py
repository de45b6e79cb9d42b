"""Finding, reading and loading weights: cached downloads, checkpoint unwrapping, readable key reports."""

from __future__ import annotations

import logging
import pickle
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn as nn

from ..core.errors import MotionlensError
from .cfg import ModelCfg
from .registry import get_model_cfg, get_weights

log = logging.getLogger(__name__)

# Wrappers seen in the wild, outermost first: PyTorchVideo ("model_state"), Lightning and Hara
# ("state_dict"), motionlens training checkpoints ("model").
_WRAPPER_KEYS = ("model_state", "state_dict", "model")
# Prefixes added by DataParallel/DDP, Lightning modules and torch.compile.
_PREFIXES = ("module.", "model.", "_orig_mod.")


class LoadResult(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]
    mismatched_keys: list[str]
    head_reset: bool  # the file's classifier had another class count; a fresh head was kept


def read_torch_file(path: str | Path, kind: str = "weights file") -> object:
    """Read a ``.pth``/``.pt``/``.safetensors`` file as saved, with one-line errors naming it.

    The one reader of model files: training checkpoints (``training.checkpoint``) and weights
    alike. Pickled files are always read with ``weights_only=True``: a file cannot run code.
    ``kind`` names the file in the not-found error ("weights file", "checkpoint").
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise MotionlensError(f"{kind} not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as err:  # safetensors raises its own SafetensorError
            raise MotionlensError(f"{path}: not a readable safetensors file ({_first_line(err)})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise MotionlensError(
            f"{path}: refused to unpickle it safely ({_first_line(err)}); re-save just its weights with "
            f"torch.save(model.state_dict(), path) and load that"
        ) from None
    except Exception as err:  # truncation, a zip that is not a checkpoint, I/O errors
        raise MotionlensError(f"{path}: not a readable PyTorch file ({type(err).__name__}: {_first_line(err)})") from None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a weights file and return its unwrapped ``state_dict`` (see :func:`extract_state_dict`)."""
    return extract_state_dict(read_torch_file(path), source=str(path))


def extract_state_dict(obj: object, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Unwrap a checkpoint to a plain ``state_dict``: known wrapper keys, then common prefixes."""
    for _ in range(3):
        if isinstance(obj, Mapping) and not _is_state_dict(obj):
            inner = next((obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not _is_state_dict(obj):
        keys = ", ".join(map(str, list(obj)[:8])) if isinstance(obj, Mapping) else type(obj).__name__
        raise MotionlensError(f"{source}: no state_dict found (top level: {keys})")
    state_dict = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if state_dict and all(k.startswith(prefix) for k in state_dict):
                state_dict = {k[len(prefix) :]: v for k, v in state_dict.items()}
                changed = True
    return state_dict


def _is_state_dict(obj: Mapping) -> bool:
    """Tensors under string keys, and no wrapper key holding a nested dict."""
    if not obj or not all(isinstance(k, str) for k in obj):
        return False
    has_tensors = any(isinstance(v, torch.Tensor) for v in obj.values())
    return has_tensors and not any(isinstance(obj.get(k), Mapping) for k in _WRAPPER_KEYS)


def cached_weights_file(cfg: ModelCfg) -> Path:
    """The local copy of ``cfg.url`` in ``<torch hub dir>/checkpoints``, downloaded (and hash-checked) if absent."""
    if not cfg.url:
        raise MotionlensError(f"{cfg.name}: weights {cfg.tag!r} have no download URL")
    dst = Path(torch.hub.get_dir()) / "checkpoints" / (cfg.file_name or cfg.url.rsplit("/", 1)[-1])
    if dst.is_file():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Looked up at call time so tests can monkeypatch the downloader.
        torch.hub.download_url_to_file(cfg.url, str(dst), hash_prefix=cfg.sha256 or None, progress=sys.stderr.isatty())
    except Exception as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if "invalid hash" in reason:
            raise MotionlensError(
                f"downloaded {cfg.url} but its sha256 does not start with {cfg.sha256}: the file is corrupt "
                f"or was replaced upstream; nothing was saved to {dst}"
            ) from None
        raise MotionlensError(
            f"could not download the {cfg.tag or 'pretrained'} weights of {cfg.name} ({reason}). "
            f"Download {cfg.url} by hand and save it as {dst} (or pass the file's path as pretrained=)"
        ) from None
    return dst


def resolve_weights(name: str, pretrained: str | Path | bool) -> tuple[ModelCfg | None, dict[str, torch.Tensor]]:
    """Turn ``create_model``'s ``pretrained`` into ``(cfg of those weights, state_dict)``.

    A weights tag gives its table entry. A file gives the contract it carries (a checkpoint
    written by ``motionlens train`` holds its pipeline) or None: ``file_contract`` then picks one
    once the file's class count is known."""
    weights = get_weights(name)
    if pretrained is True:
        if not weights:
            raise MotionlensError(f"{name} has no downloadable weights; pass a file path as pretrained=")
        pretrained = next(iter(weights))
    if isinstance(pretrained, str) and pretrained in weights:
        cfg = weights[pretrained]
        if not cfg.url:
            raise MotionlensError(
                f"the {pretrained} weights of {name} have no download URL: fetch the file by hand and pass its "
                f"path as pretrained=; it is read with the {pretrained} input contract"
            )
        return cfg, load_state_dict_file(cached_weights_file(cfg))
    path = Path(pretrained).expanduser()
    if path.is_file():
        obj = read_torch_file(path)
        return _carried_contract(name, obj, path), extract_state_dict(obj, source=str(path))
    tags = ", ".join(weights) or "none"
    raise MotionlensError(
        f"pretrained={str(pretrained)!r} is neither a weights tag of {name} (tags: {tags}) nor an existing file"
    )


def _carried_contract(name: str, obj: object, path: Path) -> ModelCfg | None:
    """The contract a motionlens training checkpoint stores (its pipeline and classes), else None."""
    if not (isinstance(obj, Mapping) and isinstance(obj.get("pipeline"), Mapping)):
        return None
    pipe = obj["pipeline"]
    resize = pipe.get("resize")
    return ModelCfg(
        name=name,
        num_classes=len(obj.get("classes") or ()) or 400,
        mean=tuple(pipe["mean"]),
        std=tuple(pipe["std"]),
        frame_rate=pipe.get("target_fps"),
        clip_len=int(pipe["clip_len"]),
        frame_stride=int(pipe["frame_stride"]),
        clip_seconds=pipe.get("clip_seconds"),
        resize=tuple(resize) if isinstance(resize, (list, tuple)) else int(resize),
        interpolation=pipe.get("interpolation", "bilinear"),
        antialias=bool(pipe.get("antialias", False)),
        round_resized=bool(pipe.get("round_resized", False)),
        crop_size=int(pipe["crop_size"]),
        channel_order=pipe.get("channel_order", "RGB"),
        label_names=tuple(obj.get("classes") or ()),
        file_name=path.name,
        source=f"training checkpoint {path.name}",
    )


def file_contract(name: str, file_classes: int, path: str | Path) -> ModelCfg:
    """The input contract of a bare weights file of model ``name`` with ``file_classes`` outputs.

    A file is taken to be one of the model's known weights when exactly one of them has its
    class count (Hara's Kinetics releases, C3D's Sports-1M); a file with another class count
    (fine-tuned elsewhere) gets the model's only known contract with a warning; a model with no
    known weights keeps its architecture defaults, with a warning that they were not read from
    the file."""
    path = Path(path)
    table = _weights_of(name)
    fits = [cfg for cfg in table.values() if cfg.num_classes == file_classes]
    if len(fits) == 1:
        cfg = fits[0]
        log.info("%s: read with the input contract of the %s weights of %s", path.name, cfg.tag, name)
    elif len(table) == 1:
        cfg = next(iter(table.values()))
        log.warning("%s has %d classes, not the %d of the %s weights of %s: assuming their input contract (%s)",
                    path.name, file_classes, cfg.num_classes, cfg.tag, name, "; ".join(cfg.contract().values()))
    else:
        cfg = get_model_cfg(name)
        log.warning("%s carries no input contract and matches no known weights of %s: using the architecture "
                    "defaults (%s); set data.* to what the file was trained with", path.name, name,
                    "; ".join(cfg.contract().values()))
    return replace(cfg, url="", sha256="", file_name=path.name)


def head_num_classes(model: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> int | None:
    """Class count of the classifier stored in ``state_dict`` (None if it has none)."""
    weight = state_dict.get(f"{getattr(model, 'classifier_name', 'fc')}.weight")
    return int(weight.shape[0]) if weight is not None and weight.ndim == 2 else None


def load_weights(
    model: nn.Module,
    source: str | Path | ModelCfg | Mapping[str, torch.Tensor],
    strict: bool = True,
) -> LoadResult:
    """Load weights into ``model`` in place.

    ``source``: a file path, a weights tag of ``model.cfg.name``, a ``ModelCfg`` with a URL, or a
    (possibly wrapped) state dict. If the classifier's class count differs, everything but the
    classifier is loaded and the classifier is reset. ``strict=True`` raises a readable
    ``MotionlensError`` listing missing, unexpected and shape-mismatched keys; ``strict=False``
    loads what fits and reports the rest in the returned ``LoadResult``.
    """
    state_dict = _source_state_dict(model, source)
    state_dict = _adapt_first_conv(model, state_dict)
    own = model.state_dict()

    head = getattr(model, "classifier_name", None)
    head_keys = {k for k in own if head and k.startswith(head + ".")}
    file_head = [k for k in state_dict if head and k.startswith(head + ".")]
    head_reset = bool(file_head) and (
        not head_keys or any(k in own and state_dict[k].shape != own[k].shape for k in file_head)
    )
    if head_reset:
        state_dict = {k: v for k, v in state_dict.items() if k not in file_head}

    # Pre-1.0 checkpoints (Hara's) have no BN num_batches_tracked; BN fills it in itself.
    missing = [
        k
        for k in own
        if k not in state_dict and not k.endswith("num_batches_tracked") and not (head_reset and k in head_keys)
    ]
    unexpected = [k for k in state_dict if k not in own]
    mismatched = [k for k in state_dict if k in own and state_dict[k].shape != own[k].shape]
    if strict and (missing or unexpected or mismatched):
        raise MotionlensError(_mismatch_report(model, state_dict, own, missing, unexpected, mismatched))
    model.load_state_dict({k: v for k, v in state_dict.items() if k in own and k not in mismatched}, strict=False)
    if head_reset and hasattr(model, "reset_classifier"):
        model.reset_classifier(model.num_classes)
    return LoadResult(missing, unexpected, mismatched, head_reset)


def _source_state_dict(model: nn.Module, source) -> dict[str, torch.Tensor]:
    if isinstance(source, Mapping):
        return extract_state_dict(source)
    if isinstance(source, ModelCfg):
        return load_state_dict_file(cached_weights_file(source))
    cfg = getattr(model, "cfg", None)
    if isinstance(source, str) and cfg is not None and source in _weights_of(cfg.name):
        return load_state_dict_file(cached_weights_file(_weights_of(cfg.name)[source]))
    return load_state_dict_file(source)


def _weights_of(name: str) -> dict[str, ModelCfg]:
    try:
        return get_weights(name)
    except MotionlensError:  # a model built outside the registry
        return {}


def _adapt_first_conv(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """RGB weights into an ``in_chans`` != 3 stem (e.g. stacked optical flow): average, then replicate.

    This is TSN's "cross-modality" initialisation (Wang et al. 2016).
    """
    prefix = getattr(model, "first_conv", "")
    key = f"{prefix}.weight"
    if not prefix or key not in state_dict:
        return state_dict
    own = model.state_dict()[key]
    weight = state_dict[key]
    if (
        weight.shape == own.shape
        or weight.shape[1] != 3
        or weight.shape[:1] + weight.shape[2:] != own.shape[:1] + own.shape[2:]
    ):
        return state_dict
    adapted = weight.mean(dim=1, keepdim=True).expand_as(own).clone()  # (O, in_chans, k...)
    return {**state_dict, key: adapted}


def _few(keys: list[str], n: int = 4) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... (+{len(keys) - n} more)" if len(keys) > n else "")


def _mismatch_report(model, state_dict, own, missing, unexpected, mismatched) -> str:
    name = getattr(getattr(model, "cfg", None), "name", type(model).__name__)
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) [{_few(missing)}]")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) [{_few(unexpected)}]")
    if mismatched:
        shapes = [f"{k}: file {list(state_dict[k].shape)} vs model {list(own[k].shape)}" for k in mismatched]
        parts.append(f"{len(mismatched)} shape mismatch(es) [{_few(shapes, 3)}]")
    return (
        f"weights do not fit {name}: " + "; ".join(parts) + ". The file was probably saved from another "
        "architecture or variant (depth, shortcut type, encoder); load it into the matching model, "
        "or pass strict=False to load only the keys that fit."
    )
