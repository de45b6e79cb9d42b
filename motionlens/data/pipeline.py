"""From a config and a model's weights record to datasets and loaders.

Clip timing, geometry and normalisation default to the input contract of the model's weights
(its ModelCfg: frame rate, clip length, resize numerics, crop, statistics); the data config
overrides them where set. `clip_input` shows the tensor a model is fed for one clip."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from ..config import DataConfig
from ..core.errors import ConfigError, MotionlensError
from ..models.cfg import ModelCfg
from ..core.progress import console, progress_counter
from .dataset import VideoClipDataset, rgb_decoder
from .flow_dataset import FLOW_MODALITIES, modality_decoder
from .index import VideoIndex, build_index
from .resample import frames_in_seconds, resample_indices, uniform_offsets
from .samplers import make_sampler
from .transforms import ClipTransform, scaled_stats

if TYPE_CHECKING:  # training's DDP state; data loading only reads rank and world_size
    from ..training.distributed import DistInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pipeline:
    """Everything that turns a video into model input, saved with each checkpoint.

    The resolved form of a weights contract (`ModelCfg`) and the data config's overrides."""

    clip_len: int
    frame_stride: int
    target_fps: float | None  # resample videos to this rate first; None = native
    resize: int | tuple[int, int]
    crop_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]  # for [0, 1] input
    modality: str = "rgb"
    clip_seconds: float | None = None  # PyTorchVideo clips: clip_len frames spread over this many seconds
    interpolation: str = "bilinear"
    antialias: bool = False
    round_resized: bool = False
    channel_order: str = "RGB"
    decoder_resize: bool = False  # resize while decoding (swscale), a speed option the contract must allow

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Pipeline":
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        if isinstance(data.get("resize"), list):
            data["resize"] = tuple(data["resize"])
        return cls(**{k: tuple(v) if k in ("mean", "std") else v for k, v in data.items()})

    def clip_offsets(self, fps: float) -> np.ndarray:
        """`(clip_len,)` frame offsets of a clip from its first frame, in frames at `target_fps`
        (the source rate `fps` when None)."""
        if self.clip_seconds:
            return uniform_offsets(frames_in_seconds(self.clip_seconds, fps), self.clip_len)
        return np.arange(self.clip_len, dtype=np.int64) * self.frame_stride


def resolve_pipeline(data: DataConfig, model_cfg: ModelCfg) -> Pipeline:
    """Data config values where set, else the model's weights contract."""
    mean, std = scaled_stats(model_cfg.mean, model_cfg.std, model_cfg.input_scale)
    resize = data.resize if data.resize is not None else model_cfg.resize
    target = data.target_fps
    if isinstance(target, str) and target != "native":
        raise ConfigError(f"data.target_fps must be a number, native, or unset (the weights' rate), got {target!r}")
    target_fps = model_cfg.frame_rate if target is None else None if target == "native" else float(target)
    # PyTorchVideo's clip_seconds (X3D) only holds while the weights' own timing is kept.
    timing_changed = data.clip_len is not None or data.frame_stride is not None or target is not None
    clip_seconds = data.clip_seconds if data.clip_seconds or timing_changed else model_cfg.clip_seconds
    if data.decoder_resize and not model_cfg.decoder_resize_ok:
        raise ConfigError(
            f"data.decoder_resize: the {model_cfg.tag or 'default'} weights of {model_cfg.name} were trained on "
            f"frames resized by {model_cfg.interpolation} interpolation (antialias {model_cfg.antialias}); "
            "resizing while decoding gives other pixels, so it is off for them")
    return Pipeline(
        clip_len=data.clip_len or model_cfg.clip_len,
        frame_stride=data.frame_stride or model_cfg.frame_stride,
        target_fps=target_fps,
        resize=tuple(resize) if isinstance(resize, (list, tuple)) else int(resize),
        crop_size=data.crop_size or model_cfg.crop_size,
        mean=tuple(mean), std=tuple(std), modality=data.modality,
        clip_seconds=clip_seconds,
        interpolation=model_cfg.interpolation,
        antialias=model_cfg.antialias,
        round_resized=model_cfg.round_resized,
        channel_order=model_cfg.channel_order,
        decoder_resize=data.decoder_resize,
    )


def resolved_data(data: DataConfig, pipe: Pipeline) -> DataConfig:
    """`data` with the pipeline's timing and geometry written in, so a run's config.yaml shows them."""
    resize = list(pipe.resize) if isinstance(pipe.resize, tuple) else pipe.resize
    return replace(data, clip_len=pipe.clip_len, frame_stride=pipe.frame_stride,
                   target_fps=pipe.target_fps if pipe.target_fps else "native", resize=resize,
                   crop_size=pipe.crop_size, clip_seconds=pipe.clip_seconds)


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


MODALITY_CHANNELS = {"rgb": 3, "diff": 3, "rgb_diff": 6, "flow": 2, "rgb+flow": 5}  # model input channels per modality
_DIFFERENCES = {"diff": "only", "rgb_diff": "append"}  # modalities made of frame differences


def _numerics(pipe: Pipeline) -> dict:
    return {"interpolation": pipe.interpolation, "antialias": pipe.antialias, "round_resized": pipe.round_resized,
            "channel_order": pipe.channel_order, "differences": _DIFFERENCES.get(pipe.modality, "")}


def eval_transform(pipe: Pipeline, num_crops: int = 1) -> ClipTransform:
    """Resize, centre (or three) crop, normalise: what evaluation and inference apply."""
    return ClipTransform(pipe.resize, pipe.crop_size, pipe.mean, pipe.std, train=False, num_crops=num_crops,
                         **_numerics(pipe))


def train_transform(pipe: Pipeline, data: DataConfig) -> ClipTransform:
    return ClipTransform(pipe.resize, pipe.crop_size, pipe.mean, pipe.std, train=True, flip=data.hflip,
                         jitter=data.color_jitter, flip_negates_channel=FLOW_MODALITIES.get(pipe.modality),
                         **_numerics(pipe))


def make_dataset(index: VideoIndex, pipe: Pipeline, train: bool, data: DataConfig, seed: int = 0,
                 num_clips: int | None = None, num_crops: int | None = None) -> VideoClipDataset:
    # The dataset resamples to target_fps itself (on real frame times); samplers run on its frames.
    if train:
        sampler = make_sampler(data.train_sampler, pipe.clip_len, pipe.frame_stride, None, train=True)
        transform = train_transform(pipe, data)
    else:
        name = "tsn" if data.train_sampler == "tsn" else "uniform"
        extra = {} if name == "tsn" else {"num_clips": num_clips or data.eval_clips}
        sampler = make_sampler(name, pipe.clip_len, pipe.frame_stride, None, **extra)
        transform = eval_transform(pipe, num_crops or data.eval_crops)
    # Decoders return frames as stored and the transform does the one resize, unless the contract
    # allows resizing while decoding and the config asks for it (smaller decoded clips, other pixels).
    size = pipe.resize if pipe.decoder_resize else None
    decoder = modality_decoder(pipe.modality, data.flow_root, index.root, pipe.resize) or rgb_decoder(
        size, data.max_damaged_fraction)
    return VideoClipDataset(index, sampler, transform, decoder=decoder, seed=seed, frame_rate=pipe.target_fps,
                            clip_seconds=pipe.clip_seconds)


def clip_frame_indices(times: np.ndarray, pipe: Pipeline, start_sec: float) -> np.ndarray:
    """`(clip_len,)` source frame numbers of the clip that starts at `start_sec`, per the pipeline.

    `times`: `(N,)` display times of the video's frames in seconds. At `target_fps` the clip
    starts at the first resampled frame at or after `start_sec`; with `clip_seconds` it is spread
    over the frames shown in `[start_sec, start_sec + clip_seconds)` (PyTorchVideo's `get_clip`);
    otherwise it starts at the first frame shown at or after `start_sec`. Clips past the end loop,
    as the samplers do."""
    times = np.asarray(times, dtype=np.float64)
    if len(times) == 0:
        raise MotionlensError("the video has no frames")
    eps = 1e-6
    if pipe.target_fps:
        grid = resample_indices(times, pipe.target_fps)  # (K,)
        first = int(np.ceil((start_sec - times[0]) * pipe.target_fps - eps))
        rel = first + pipe.clip_offsets(pipe.target_fps)
        return grid[np.clip(rel, 0, None) % len(grid)]
    first = min(int(np.searchsorted(times, start_sec - eps, side="left")), len(times) - 1)
    if pipe.clip_seconds:
        stop = int(np.searchsorted(times, start_sec + pipe.clip_seconds - eps, side="left"))
        window = max(stop - first, 1)
        return first + uniform_offsets(window, pipe.clip_len)
    return (first + pipe.clip_offsets(1.0)) % len(times)


def clip_input(video: str | os.PathLike, cfg_or_model, start_sec: float = 0.0) -> torch.Tensor:
    """The float `(C, T, H, W)` tensor a model is fed for the clip of `video` starting at `start_sec`.

    `cfg_or_model`: a `ModelCfg`, a model with a `cfg`, a `Pipeline`, or a model name (its
    default weights' contract). Frames are chosen by the contract's timing (`clip_frame_indices`),
    read as stored, then resized, centre-cropped and normalised by the same transform that
    evaluation and `predict` use."""
    from ..video import frame_times, read_frames

    pipe = as_pipeline(cfg_or_model)
    indices = clip_frame_indices(frame_times(video), pipe, float(start_sec))
    frames = read_frames(video, [int(i) for i in indices], size=pipe.resize if pipe.decoder_resize else None)
    return eval_transform(pipe, 1)(frames)  # (C, T, H, W)


def as_pipeline(cfg_or_model) -> Pipeline:
    """A Pipeline from a Pipeline, a ModelCfg, a model with a `cfg`, or a model name: the eval
    pipeline of the weights' whole input contract, as training resolves it with no data.* set."""
    from ..models import get_model_cfg

    if isinstance(cfg_or_model, Pipeline):
        return cfg_or_model
    if isinstance(cfg_or_model, str):
        cfg_or_model = get_model_cfg(cfg_or_model)
    cfg = cfg_or_model if isinstance(cfg_or_model, ModelCfg) else getattr(cfg_or_model, "cfg", None)
    if not isinstance(cfg, ModelCfg):
        raise MotionlensError(f"expected a ModelCfg, a model with a cfg, a Pipeline or a model name, "
                              f"got {type(cfg_or_model).__name__}")
    return resolve_pipeline(DataConfig(), cfg)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # N workers x all cores each would oversubscribe the CPU
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


class EpochSampler(Sampler):
    """The video indices of one epoch, each paired with the seed its clip and augmentation are drawn
    from: sample i of epoch e is the same whichever worker loads it and however many workers there
    are, so workers can live across epochs and a resumed run sees exactly the data an
    uninterrupted one would. Under DDP each rank takes every world_size-th index of the
    (shuffled) order, padded with its first indices to a multiple of world_size, as
    DistributedSampler does. Call `set_epoch` before each epoch."""

    def __init__(self, size: int, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1):
        self.size, self.shuffle, self.seed = size, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-self.size // self.world_size)

    def __iter__(self):
        if self.shuffle:
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed * 1000 + self.epoch))
            order = order.tolist()
        else:
            order = list(range(self.size))
        total = len(self) * self.world_size
        order = (order * (1 + total // max(len(order), 1)))[:total]  # pad with repeats, as DistributedSampler
        for i in order[self.rank::self.world_size]:
            yield i, sample_seed(self.seed, self.epoch, i)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of video `index`'s draws in `epoch`: well mixed, whatever the three numbers."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0] >> 1)


def make_loader(dataset, batch_size: int, train: bool, num_workers: int, seed: int,
                dist: "DistInfo | None" = None) -> DataLoader:
    """A loader for every epoch of `dataset`: call `loader.sampler.set_epoch(epoch)` before each.
    Its workers live across epochs; what each sample draws depends only on (seed, epoch, video)
    (`EpochSampler`)."""
    rank, world = (dist.rank, dist.world_size) if dist is not None and dist.enabled else (0, 1)
    sampler = EpochSampler(len(dataset), shuffle=train, seed=seed, rank=rank, world_size=world)
    return DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
        worker_init_fn=_worker_init if num_workers else None,
        drop_last=train_drops_last(len(sampler), batch_size, train),
        persistent_workers=num_workers > 0, pin_memory=torch.cuda.is_available(),
    )


def train_drops_last(num_items: int, batch_size: int, train: bool) -> bool:
    """Training drops a last partial batch (a batch of one breaks BatchNorm) unless that is all there is."""
    return train and num_items >= batch_size
