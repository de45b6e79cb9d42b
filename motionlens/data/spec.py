"""`InputSpec`: how a video becomes model input, and the one place where a clip's frames are chosen.

An InputSpec is the resolved form of three things: the input contract of the model's weights
(`ModelCfg`: frame rate, clip length, resize numerics, crop, statistics), the recipe and the data
config's overrides. `resolve_input` makes it once per run; it is saved in the run's checkpoints
(under "pipeline", the name older checkpoints use) and every consumer takes it as it is.

Frame choice, all here:
  - `InputSpec.clips`: a sampler's clips of a dataset record (training and evaluation);
  - `InputSpec.frame_indices`: the clip that starts at a given second (`clip_input`);
  - `InputSpec.file_windows`: the sliding windows of `predict` over a whole file;
  - `InputSpec.stream_windows`: the windows of `watch` over a live stream, which has no frame table.
Time: the video is first resampled to `target_fps` (`resample.resample_indices` over the real
frame times); a clip is then `clip_len` frames `frame_stride` apart, or, with `clip_seconds`
(PyTorchVideo's X3D), the frames shown during that many seconds, `clip_len` of them evenly spread.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable, NamedTuple

import numpy as np

from ..config import DataConfig, TrainConfig, fill_recipe
from ..core.errors import ConfigError, MotionlensError
from ..models.cfg import ModelCfg
from .resample import frames_in_seconds, resample_indices, uniform_offsets
from .samplers import ClipInfo, ClipSampler, SlidingWindows, Span, clip_offsets
from .transforms import scaled_stats

log = logging.getLogger(__name__)

DEFAULT_EVAL = (5, 1)  # clips x crops where the weights state no reference evaluation the uniform sampler takes
_EPS = 1e-6  # seconds


@dataclass(frozen=True)
class InputSpec:
    """Everything that turns a video into model input; saved with each checkpoint."""

    clip_len: int
    frame_stride: int  # in frames at `target_fps` (the video's own rate when None)
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
    def from_dict(cls, data: dict) -> "InputSpec":
        """From `to_dict`'s mapping, or the "pipeline" mapping of an older checkpoint (same keys, fewer)."""
        known = {f.name for f in fields(cls)}
        data = {k: v for k, v in data.items() if k in known}
        if isinstance(data.get("resize"), list):
            data["resize"] = tuple(data["resize"])
        if data.get("modality") is None:
            data.pop("modality", None)
        return cls(**{k: tuple(v) if k in ("mean", "std") else v for k, v in data.items()})

    def clip_offsets(self, fps: float) -> np.ndarray:
        """`(clip_len,)` frame offsets of a clip from its first frame, in frames at `target_fps`
        (the source rate `fps` when None)."""
        if self.clip_seconds:
            return uniform_offsets(frames_in_seconds(self.clip_seconds, fps), self.clip_len)
        return np.arange(self.clip_len, dtype=np.int64) * self.frame_stride

    def clips(self, sampler: ClipSampler, record, rng: np.random.Generator | None) -> list[ClipInfo]:
        """`sampler`'s clips of dataset `record`, in source frame numbers.

        The sampler runs on the resampled video at `target_fps` (its frames mapped back to source
        frames); with `clip_seconds` it picks windows of the frames shown in that many seconds,
        `sampler.clip_len` of them evenly spread; otherwise it runs on the record's own frames."""
        span = Span.of(record)
        if self.target_fps:
            grid = span.first + resample_indices(record_times(record), self.target_fps)  # (K,) source frames
            found = sampler(Span(0, len(grid), self.target_fps), rng)
            return [_mapped(c, grid[list(c.indices)], grid[c.start], grid[c.end]) for c in found]
        if self.clip_seconds:
            window = frames_in_seconds(self.clip_seconds, span.fps)
            dense = replace(sampler, clip_len=window, frame_stride=1)
            picks = uniform_offsets(window, sampler.clip_len)
            return [_mapped(c, np.asarray(c.indices)[picks], c.start, c.end) for c in dense(span, rng)]
        return sampler(span, rng)

    def frame_indices(self, times: np.ndarray, start_sec: float) -> np.ndarray:
        """`(clip_len,)` source frame numbers of the clip that starts at `start_sec`.

        `times`: `(N,)` display times of the video's frames in seconds. At `target_fps` the clip
        starts at the first resampled frame at or after `start_sec`; with `clip_seconds` it is
        spread over the frames shown in `[start_sec, start_sec + clip_seconds)` (PyTorchVideo's
        `get_clip`); otherwise it starts at the first frame shown at or after `start_sec`. Clips
        past the end loop, as the samplers do."""
        times = np.asarray(times, dtype=np.float64)
        if len(times) == 0:
            raise MotionlensError("the video has no frames")
        if self.target_fps:
            grid = resample_indices(times, self.target_fps)  # (K,)
            first = int(np.ceil((start_sec - times[0]) * self.target_fps - _EPS))
            rel = first + self.clip_offsets(self.target_fps)
            return grid[np.clip(rel, 0, None) % len(grid)]
        first = min(int(np.searchsorted(times, start_sec - _EPS, side="left")), len(times) - 1)
        if self.clip_seconds:
            stop = int(np.searchsorted(times, start_sec + self.clip_seconds - _EPS, side="left"))
            return first + uniform_offsets(max(stop - first, 1), self.clip_len)
        return (first + self.clip_offsets(1.0)) % len(times)

    def default_window_stride(self, fps: float) -> int:
        """Source frames between `predict`'s windows unless told: half a window span (8 frames for
        16 consecutive frames), at least 1."""
        if self.target_fps or self.clip_seconds:
            rate = self.target_fps or fps
            span = (int(self.clip_offsets(rate)[-1]) + 1) * fps / rate
        else:
            span = int(clip_offsets(self.clip_len, float(self.frame_stride))[-1]) + 1
        return max(1, int(span) // 2)

    def file_windows(self, fps: float, times: Callable[[], np.ndarray],
                     window_stride: int | None = None) -> "FileWindows":
        """`predict`'s windows over a file of `fps` frames per second, `window_stride` source
        frames apart (default: `default_window_stride`). At `target_fps` only the resampled
        frames (`source`, from the file's frame `times`, read only then) reach the windows."""
        window_stride = window_stride or self.default_window_stride(fps)
        source = None
        if self.target_fps:
            source = resample_indices(times(), self.target_fps)  # (K,)
            window_stride = max(1, round(window_stride * self.target_fps / fps))
        windows = SlidingWindows(self.clip_offsets(self.target_fps or fps), window_stride)
        return FileWindows(windows, source)

    def stream_windows(self, fps: float, window_stride: int | None = None) -> tuple[np.ndarray, int]:
        """`watch`'s windows over a live stream of `fps`: `(T,)` source-frame offsets of a window
        from its first frame, and the source frames between windows (default: half a window).

        A live stream has no frame table to resample by: at `target_fps` the window takes every
        fps / target_fps-th source frame (floor), which is the resampled video for constant rates."""
        if self.clip_seconds and not self.target_fps:
            rel = self.clip_offsets(fps)
        else:
            step = self.frame_stride * (fps / self.target_fps if self.target_fps else 1.0)
            rel = clip_offsets(self.clip_len, step)
        return rel, window_stride or max(1, (int(rel[-1]) + 1) // 2)


class FileWindows(NamedTuple):
    windows: SlidingWindows  # push the frames that reach the windows, in order
    source: np.ndarray | None  # (K,) source frame number of each such frame when resampling, else None


def record_times(record) -> np.ndarray:
    """`(segment_frames,)` display times of a record's frames in seconds (frame folders: at `record.fps`)."""
    from ..video import frame_times

    if os.path.isfile(record.path):
        times = frame_times(record.path)[record.first_frame: record.first_frame + record.segment_frames]
        if len(times):
            return times
    return np.arange(record.segment_frames, dtype=np.float64) / (record.fps or 25.0)


def _mapped(clip: ClipInfo, indices: np.ndarray, start: int, end: int) -> ClipInfo:
    return clip._replace(start=int(start), end=int(end), indices=tuple(int(i) for i in indices))


def input_spec(data: DataConfig, model_cfg: ModelCfg) -> InputSpec:
    """The data config's values where set, else the weights' contract `model_cfg`; statistics
    fitted to the modality's channels (`modality_stats`)."""
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
    spec = InputSpec(
        clip_len=data.clip_len or model_cfg.clip_len,
        frame_stride=data.frame_stride or model_cfg.frame_stride,
        target_fps=target_fps,
        resize=tuple(resize) if isinstance(resize, (list, tuple)) else int(resize),
        crop_size=data.crop_size or model_cfg.crop_size,
        mean=tuple(mean), std=tuple(std), modality=data.modality or "rgb",
        clip_seconds=clip_seconds,
        interpolation=model_cfg.interpolation,
        antialias=model_cfg.antialias,
        round_resized=model_cfg.round_resized,
        channel_order=model_cfg.channel_order,
        decoder_resize=data.decoder_resize,
    )
    return modality_stats(spec)


def modality_stats(spec: InputSpec) -> InputSpec:
    """`spec` with normalisation statistics that fit its modality's channels.

    A weights record holds RGB statistics (3 values); flow (2 channels) and RGB + flow (5) get the
    flow statistics for the flow channels, instead of a shape error inside a DataLoader worker.
    diff and rgb_diff normalise the RGB frames before differencing: 3 values."""
    from .flow_dataset import FLOW_MEAN, FLOW_STD

    rgb_mean, rgb_std = tuple(spec.mean[:3]), tuple(spec.std[:3])
    wanted = {"flow": (tuple(FLOW_MEAN), tuple(FLOW_STD)),
              "rgb+flow": (rgb_mean + tuple(FLOW_MEAN), rgb_std + tuple(FLOW_STD))}.get(spec.modality)
    if wanted is None or len(spec.mean) == len(wanted[0]):
        return spec
    log.info("modality %s: normalising with mean %s, std %s (the weights record has %d-channel stats)",
             spec.modality, wanted[0], wanted[1], len(spec.mean))
    return replace(spec, mean=wanted[0], std=wanted[1])


def reference_eval(model_cfg: ModelCfg) -> tuple[int, int]:
    """Clips x crops of the weights' reference evaluation (X3D: 10 x 3), else `DEFAULT_EVAL`: for a
    contract that states none (1 x 1, the record's default) or every non-overlapping clip (0)."""
    if model_cfg.eval_clips >= 1 and (model_cfg.eval_clips, model_cfg.eval_crops) != (1, 1):
        return model_cfg.eval_clips, model_cfg.eval_crops
    return DEFAULT_EVAL


def tsn_frame_stride(index, clip_len: int) -> int:
    """The frame spacing a tsn-trained model saw on a typical (median-length) training video.

    Training spreads `clip_len` frames over each whole video; inference on a long video slides
    windows of `clip_len` frames `frame_stride` apart, so this stride shows the model motion at
    the speed it learned."""
    lengths = [r.segment_frames for r in index.records if r.segment_frames]
    return max(1, round(float(np.median(lengths)) / clip_len)) if lengths else 1


def resolve_input(cfg: TrainConfig, model_cfg: ModelCfg, train_index=None) -> tuple[TrainConfig, InputSpec]:
    """The one resolution of a run's input: `cfg` with every key left at None decided, and its InputSpec.

    In order: the recipe (`config.fill_recipe`: optimiser, sampler, modality...), the weights'
    contract `model_cfg` under the data config's overrides (`input_spec`), for the tsn sampler the
    frame stride of `train_index`'s median video (`tsn_frame_stride`), and the evaluation
    protocol (`reference_eval`). The returned config holds the decided values, so config.yaml
    shows them and resolving it again (a resumed run) gives the same config and spec."""
    cfg = fill_recipe(cfg)
    data = cfg.data
    spec = input_spec(data, model_cfg)
    if data.train_sampler == "tsn" and data.frame_stride is None and train_index is not None:
        spec = replace(spec, frame_stride=tsn_frame_stride(train_index, spec.clip_len))
    clips, crops = reference_eval(model_cfg)
    resize = list(spec.resize) if isinstance(spec.resize, tuple) else spec.resize
    data = replace(data, clip_len=spec.clip_len, frame_stride=spec.frame_stride,
                   target_fps=spec.target_fps if spec.target_fps else "native", resize=resize,
                   crop_size=spec.crop_size, clip_seconds=spec.clip_seconds,
                   eval_clips=data.eval_clips or clips, eval_crops=data.eval_crops or crops)
    return replace(cfg, data=data), spec


def as_spec(cfg_or_model) -> InputSpec:
    """An InputSpec from an InputSpec, a ModelCfg, a model with a `cfg`, or a model name: the eval
    input of the weights' whole contract, as training resolves it with no data.* set."""
    from ..models import get_model_cfg

    if isinstance(cfg_or_model, InputSpec):
        return cfg_or_model
    if isinstance(cfg_or_model, str):
        cfg_or_model = get_model_cfg(cfg_or_model)
    cfg = cfg_or_model if isinstance(cfg_or_model, ModelCfg) else getattr(cfg_or_model, "cfg", None)
    if not isinstance(cfg, ModelCfg):
        raise MotionlensError(f"expected a ModelCfg, a model with a cfg, an InputSpec or a model name, "
                              f"got {type(cfg_or_model).__name__}")
    return input_spec(DataConfig(), cfg)
