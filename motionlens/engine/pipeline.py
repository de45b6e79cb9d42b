"""From a config and a model's weights record to datasets and loaders.

Clip geometry and normalisation default to what the model's weights were trained with (its
ModelCfg); the data config overrides them where set."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..config import DataConfig
from ..data.dataset import VideoClipDataset, rgb_decoder
from ..data.flow_dataset import FLOW_MODALITIES, modality_decoder
from ..data.index import VideoIndex, build_index
from ..data.samplers import make_sampler
from ..data.transforms import ClipTransform, scaled_stats
from ..errors import MotionlensError
from ..progress import console, progress_counter
from .distributed import DistInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pipeline:
    """Everything that turns a video into model input, saved with each checkpoint."""

    clip_len: int
    frame_stride: int
    target_fps: float | None
    resize: int | tuple[int, int]
    crop_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]  # for [0, 1] input
    modality: str = "rgb"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Pipeline":
        data = dict(data)
        if isinstance(data.get("resize"), list):
            data["resize"] = tuple(data["resize"])
        return cls(**{k: tuple(v) if k in ("mean", "std") else v for k, v in data.items()})


def resolve_pipeline(data: DataConfig, model_cfg) -> Pipeline:
    """Data config values where set, else the model's weights record."""
    mean, std = scaled_stats(model_cfg.mean, model_cfg.std, getattr(model_cfg, "input_scale", 1.0))
    resize = data.resize if data.resize is not None else model_cfg.resize
    return Pipeline(
        clip_len=data.clip_len or model_cfg.clip_len,
        frame_stride=data.frame_stride or model_cfg.frame_stride,
        target_fps=data.target_fps,
        resize=tuple(resize) if isinstance(resize, (list, tuple)) else int(resize),
        crop_size=data.crop_size or model_cfg.crop_size,
        mean=tuple(mean), std=tuple(std), modality=data.modality,
    )


def load_index(data: DataConfig, show_progress: bool = True) -> VideoIndex:
    """Index the dataset and make sure a validation split exists (carved from train if needed)."""
    if not data.data:
        raise MotionlensError("no dataset given: pass --data LAYOUT:ROOT (e.g. --data ucf101:/data/UCF101)")
    with progress_counter("indexing", enabled=show_progress, unit="videos") as report:
        index = build_index(data.data, split=data.split, annotations=data.annotations,
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


MODALITY_CHANNELS = {"rgb": 3, "rgb_diff": 6, "flow": 2, "rgb+flow": 5}  # model input channels per modality


def eval_transform(pipe: Pipeline, num_crops: int = 1) -> ClipTransform:
    """Resize, centre (or three) crop, normalise: what evaluation and inference apply."""
    return ClipTransform(pipe.resize, pipe.crop_size, pipe.mean, pipe.std, train=False, num_crops=num_crops,
                         frame_differences=pipe.modality == "rgb_diff")


def train_transform(pipe: Pipeline, data: DataConfig) -> ClipTransform:
    return ClipTransform(pipe.resize, pipe.crop_size, pipe.mean, pipe.std, train=True, flip=data.hflip,
                         jitter=data.color_jitter, flip_negates_channel=FLOW_MODALITIES.get(pipe.modality),
                         frame_differences=pipe.modality == "rgb_diff")


def make_dataset(index: VideoIndex, pipe: Pipeline, train: bool, data: DataConfig, seed: int = 0,
                 num_clips: int | None = None, num_crops: int | None = None) -> VideoClipDataset:
    if train:
        sampler = make_sampler(data.train_sampler, pipe.clip_len, pipe.frame_stride, pipe.target_fps, train=True)
        transform = train_transform(pipe, data)
    else:
        name = "tsn" if data.train_sampler == "tsn" else "uniform"
        extra = {} if name == "tsn" else {"num_clips": num_clips or data.eval_clips}
        sampler = make_sampler(name, pipe.clip_len, pipe.frame_stride, pipe.target_fps, **extra)
        transform = eval_transform(pipe, num_crops or data.eval_crops)
    # Resizing while decoding keeps decoded clips small; the transform's resize is then a no-op.
    decoder = modality_decoder(pipe.modality, data.flow_root, index.root, pipe.resize) or rgb_decoder(pipe.resize, data.max_damaged_fraction)
    return VideoClipDataset(index, sampler, transform, decoder=decoder, seed=seed)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # N workers x all cores each would oversubscribe the CPU
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def make_loader(dataset, batch_size: int, train: bool, num_workers: int, seed: int, epoch: int,
                dist: DistInfo | None = None) -> DataLoader:
    """Seeded per epoch, so an epoch's samples and augmentations do not depend on what ran before
    (a resumed run sees exactly the data an uninterrupted one would)."""
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    sampler = None
    if dist is not None and dist.enabled:
        sampler = DistributedSampler(dataset, num_replicas=dist.world_size, rank=dist.rank, shuffle=train, seed=seed)
        sampler.set_epoch(epoch)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=train and sampler is None, sampler=sampler,
        num_workers=num_workers, generator=generator, worker_init_fn=_worker_init if num_workers else None,
        drop_last=train_drops_last(len(sampler) if sampler is not None else len(dataset), batch_size, train),
        persistent_workers=False, pin_memory=torch.cuda.is_available(),
    )


def train_drops_last(num_items: int, batch_size: int, train: bool) -> bool:
    """Training drops a last partial batch (a batch of one breaks BatchNorm) unless that is all there is."""
    return train and num_items >= batch_size
