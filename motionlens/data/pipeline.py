"""The data pipeline built from an InputSpec: the index, the datasets and their transforms.

Which frames make a clip is the spec's (`data.spec`); the loaders that feed training and
evaluation are `data.loader`'s. `clip_input` shows the tensor a model is fed for one clip."""

from __future__ import annotations

import logging
import os

import torch

from ..config import DataConfig
from ..core.errors import MotionlensError
from ..core.progress import console, progress_counter
from .dataset import VideoClipDataset, rgb_decoder
from .flow_dataset import FLOW_MODALITIES, modality_decoder
from .index import VideoIndex, build_index
from .samplers import make_sampler
from .spec import InputSpec, as_spec
from .transforms import ClipTransform

log = logging.getLogger(__name__)


def load_index(data: DataConfig, show_progress: bool = True) -> VideoIndex:
    """Index the dataset and make sure a validation split exists (carved from train if needed)."""
    if not data.dataset:
        raise MotionlensError("no dataset given: pass --data LAYOUT:ROOT (e.g. --data ucf101:/data/UCF101)")
    with progress_counter("indexing", enabled=show_progress, unit="videos") as report:
        index = build_index(data.dataset, split=data.split, annotations=data.annotations,
                            frames_fps=data.frames_fps, progress=report)
    if show_progress:  # rank 0 only under DDP
        for line in index.report.lines():
            console.print(f"[yellow]split files vs disk: {line}")
        for path, reason in index.failures[:5]:
            console.print(f"[yellow]unreadable, left out: {path}: {reason}")
        if len(index.failures) > 5:
            console.print(f"[yellow]... and {len(index.failures) - 5} more unreadable files (see `motionlens data check`)")
    if not any(r.split == "val" for r in index.records) and any(r.split == "train" for r in index.records):
        index = index.with_val_split(data.val_fraction, seed=0)
    return index


MODALITY_CHANNELS = {"rgb": 3, "diff": 3, "rgb_diff": 6, "flow": 2, "rgb+flow": 5}  # model input channels per modality
_DIFFERENCES = {"diff": "only", "rgb_diff": "append"}  # modalities made of frame differences


def _numerics(spec: InputSpec) -> dict:
    return {"interpolation": spec.interpolation, "antialias": spec.antialias, "round_resized": spec.round_resized,
            "channel_order": spec.channel_order, "differences": _DIFFERENCES.get(spec.modality, "")}


def eval_transform(spec: InputSpec, num_crops: int = 1) -> ClipTransform:
    """Resize, centre (or three) crop, normalise: what evaluation and inference apply."""
    return ClipTransform(spec.resize, spec.crop_size, spec.mean, spec.std, train=False, num_crops=num_crops,
                         **_numerics(spec))


def train_transform(spec: InputSpec, data: DataConfig) -> ClipTransform:
    return ClipTransform(spec.resize, spec.crop_size, spec.mean, spec.std, train=True, flip=data.hflip,
                         jitter=data.color_jitter, flip_negates_channel=FLOW_MODALITIES.get(spec.modality),
                         **_numerics(spec))


def make_dataset(index: VideoIndex, spec: InputSpec, train: bool, data: DataConfig, seed: int = 0,
                 num_clips: int | None = None, num_crops: int | None = None) -> VideoClipDataset:
    """Training (one random clip, random augmentation) or evaluation (`num_clips` x `num_crops`,
    default data.eval_clips x eval_crops) samples of `index`; the spec chooses the frames."""
    if train:
        sampler = make_sampler(data.train_sampler, spec.clip_len, spec.frame_stride, train=True)
        transform = train_transform(spec, data)
    else:
        name = "tsn" if data.train_sampler == "tsn" else "uniform"
        clips, crops = num_clips or data.eval_clips, num_crops or data.eval_crops
        if clips is None or crops is None:
            raise MotionlensError("data.eval_clips / eval_crops unset: resolve the config first (data.spec.resolve_input)")
        extra = {} if name == "tsn" else {"num_clips": clips}
        sampler = make_sampler(name, spec.clip_len, spec.frame_stride, **extra)
        transform = eval_transform(spec, crops)
    # Decoders return frames as stored and the transform does the one resize, unless the contract
    # allows resizing while decoding and the config asks for it (smaller decoded clips, other pixels).
    size = spec.resize if spec.decoder_resize else None
    decoder = modality_decoder(spec.modality, data.flow_root, index.root, spec.resize) or rgb_decoder(
        size, data.max_damaged_fraction)
    return VideoClipDataset(index, sampler, transform, decoder=decoder, seed=seed, spec=spec)


def clip_input(video: str | os.PathLike, cfg_or_model, start_sec: float = 0.0) -> torch.Tensor:
    """The float `(C, T, H, W)` tensor a model is fed for the clip of `video` starting at `start_sec`.

    `cfg_or_model`: a `ModelCfg`, a model with a `cfg`, an `InputSpec`, or a model name (its
    default weights' contract). Frames are chosen by the spec (`InputSpec.frame_indices`),
    read as stored, then resized, centre-cropped and normalised by the same transform that
    evaluation and `predict` use."""
    from ..video import frame_times, read_frames

    spec = as_spec(cfg_or_model)
    indices = spec.frame_indices(frame_times(video), float(start_sec))
    frames = read_frames(video, [int(i) for i in indices], size=spec.resize if spec.decoder_resize else None)
    return eval_transform(spec, 1)(frames)  # (C, T, H, W)


