"""Clip transforms on float `(C, T, H, W)` tensors.

`to_tensor` is the one place where decoder output (uint8 `(T, H, W, C)`) becomes the model
layout, and `resize` is the one place where clips are resized: decoders hand over frames as
stored, so frame folders and videos give the same tensor for the same frames. Interpolation,
antialias and rounding come from the weights' contract (`ModelCfg`); sizes and centre crops
follow torchvision's rounding, which Hara's and PyTorchVideo's code share.
Randomness comes from torch's global generator, which DataLoader seeds per worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def to_tensor(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 `(T, H, W, C)` -> float `(C, T, H, W)` in [0, 1]."""
    return _uint8_clip(frames).float().div_(255.0)  # (C, T, H, W)


def _uint8_clip(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 `(T, H, W, C)` -> a uint8 `(C, T, H, W)` view."""
    x = torch.as_tensor(frames)
    if x.ndim != 4:
        raise ValueError(f"expected (T, H, W, C) frames, got shape {tuple(x.shape)}")
    return x.permute(3, 0, 1, 2)


def resized_size(height: int, width: int, size: int | Sequence[int]) -> tuple[int, int]:
    """torchvision's rule: an int sets the short side and the long side is truncated."""
    if isinstance(size, int):
        short, long = (height, width) if height <= width else (width, height)
        new_short, new_long = size, int(size * long / short)
        return (new_short, new_long) if height <= width else (new_long, new_short)
    return int(size[0]), int(size[1])


def resize(clip: torch.Tensor, size: int | Sequence[int], interpolation: str = "bilinear",
           antialias: bool = False, round_resized: bool = False) -> torch.Tensor:
    """Resize `(C, T, H, W)` frames to float [0, 1]: int = short side, (H, W) = exact.

    `clip` is float in [0, 1], or uint8 grey levels (decoded frames as `frames.permute(3, 0, 1, 2)`),
    which gives `resize(to_tensor(frames))` without the two passes over the full-size clip that
    go to [0, 1] and back to grey levels (a third of a training clip's CPU at 320x240).
    `antialias=False` is torchvision's video preset; `antialias=True` matches PIL's resampling
    (Hara's `Scale`). `round_resized=True` rounds to whole grey levels, as resizing uint8
    images does (torchvision's preset on uint8 tensors, PIL)."""
    levels = clip.dtype == torch.uint8
    h, w = resized_size(clip.shape[-2], clip.shape[-1], size)
    if (h, w) == tuple(clip.shape[-2:]):
        return clip.float().div_(255.0) if levels else clip
    if interpolation not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolation must be bilinear or bicubic, got {interpolation!r}")
    # (T, C, H, W): frames as a batch, in grey levels. Decoded frames are channels-last in memory,
    # which interpolate handles about twice as fast as a contiguous copy.
    x = clip.transpose(0, 1)
    x = x.float() if levels else x * 255.0
    x = F.interpolate(x, size=(h, w), mode=interpolation, align_corners=False, antialias=antialias)
    if round_resized:
        x = x.round_().clamp_(0, 255)
    return x.div_(255.0).transpose(0, 1).contiguous()


def crop(clip: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    return clip[..., top: top + height, left: left + width]


def center_crop(clip: torch.Tensor, size: int) -> torch.Tensor:
    h, w = clip.shape[-2:]
    if h < size or w < size:
        clip = resize(clip, size)
        h, w = clip.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return crop(clip, top, left, size, size)


def random_crop(clip: torch.Tensor, size: int) -> torch.Tensor:
    h, w = clip.shape[-2:]
    if h < size or w < size:
        clip = resize(clip, size)
        h, w = clip.shape[-2:]
    top = int(torch.randint(0, h - size + 1, ()).item())
    left = int(torch.randint(0, w - size + 1, ()).item())
    return crop(clip, top, left, size, size)


def three_crop(clip: torch.Tensor, size: int) -> torch.Tensor:
    """Three `size` squares along the long side (start, centre, end), as in SlowFast testing: `(3, C, T, size, size)`."""
    h, w = clip.shape[-2:]
    if h < size or w < size:
        clip = resize(clip, size)
        h, w = clip.shape[-2:]
    crops = []
    for i in range(3):
        if w >= h:
            top, left = int(round((h - size) / 2.0)), int(round((w - size) * i / 2.0))
        else:
            top, left = int(round((h - size) * i / 2.0)), int(round((w - size) / 2.0))
        crops.append(crop(clip, top, left, size, size))
    return torch.stack(crops)


def random_resized_crop(clip: torch.Tensor, size: int, scale=(0.25, 1.0), ratio=(3 / 4, 4 / 3)) -> torch.Tensor:
    """One random area/aspect crop, the same for every frame, resized to `size` x `size`."""
    h, w = clip.shape[-2:]
    for _ in range(10):
        area = h * w * float(torch.empty(()).uniform_(*scale))
        aspect = math.exp(float(torch.empty(()).uniform_(math.log(ratio[0]), math.log(ratio[1]))))
        cw, ch = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            top = int(torch.randint(0, h - ch + 1, ()).item())
            left = int(torch.randint(0, w - cw + 1, ()).item())
            return resize(crop(clip, top, left, ch, cw), (size, size))
    return center_crop(resize(clip, size), size)


def hflip(clip: torch.Tensor) -> torch.Tensor:
    return clip.flip(-1)


def normalize(clip: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel (x - mean) / std on `(C, T, H, W)` (or a leading crop dim)."""
    shape = (-1, 1, 1, 1)
    mean_t = torch.as_tensor(mean, dtype=clip.dtype).view(shape)
    std_t = torch.as_tensor(std, dtype=clip.dtype).view(shape)
    return (clip - mean_t) / std_t


def color_jitter(clip: torch.Tensor, brightness=0.3, contrast=0.3, saturation=0.3) -> torch.Tensor:
    """The same random brightness/contrast/saturation change for every frame of a [0, 1] clip."""
    b = 1 + float(torch.empty(()).uniform_(-brightness, brightness))
    c = 1 + float(torch.empty(()).uniform_(-contrast, contrast))
    s = 1 + float(torch.empty(()).uniform_(-saturation, saturation))
    clip = clip * b
    mean = clip.mean(dim=(0, 2, 3), keepdim=True)
    clip = (clip - mean) * c + mean
    gray = (0.299 * clip[0] + 0.587 * clip[1] + 0.114 * clip[2]).unsqueeze(0) if clip.shape[0] == 3 else clip
    clip = (clip - gray) * s + gray
    return clip.clamp_(0, 1)


def temporal_subsample(clip: torch.Tensor, num_frames: int) -> torch.Tensor:
    """`num_frames` evenly spaced frames of `(C, T, H, W)`."""
    t = clip.shape[1]
    idx = torch.linspace(0, t - 1, num_frames).round().long()
    return clip[:, idx]


def frame_differences(clip: torch.Tensor, keep_frames: bool = False) -> torch.Tensor:
    """TSN's RGB difference: each frame minus the one before it (zero for the first frame), so
    `(..., C, T, H, W)` keeps its shape; with `keep_frames`, `(..., 2C, T, H, W)`: the frames, then
    their differences."""
    diff = torch.zeros_like(clip)
    diff[..., 1:, :, :] = clip[..., 1:, :, :] - clip[..., :-1, :, :]
    return torch.cat([clip, diff], dim=-4) if keep_frames else diff


@dataclass
class ClipTransform:
    """Decoded frames -> normalised model input.

    train: resize short side, random (or random-resized) crop, flip, optional colour jitter.
    eval:  resize, centre crop (`num_crops=1`) or three crop (`num_crops=3`).
    Output: `(C, T, S, S)` for one crop, `(num_crops, C, T, S, S)` for several."""

    resize: int | tuple[int, int]
    crop_size: int
    mean: Sequence[float]
    std: Sequence[float]
    train: bool = False
    num_crops: int = 1
    flip: bool = True
    jitter: bool = False
    resized_crop: bool = False
    flip_negates_channel: int | None = None  # flow x-component changes sign under a flip
    differences: str = ""  # "" | "only" (modality "diff": frame differences) | "append" ("rgb_diff": frames, then differences)
    interpolation: str = "bilinear"
    antialias: bool = False
    round_resized: bool = False
    channel_order: str = "RGB"  # "BGR" reverses the channels of RGB frames

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self.join(self._transform(frames))

    def spatial(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Evaluation's per-frame work (resize, channel order, crop, normalise) on uint8 `(T, H, W, C)`:
        `(C, T, S, S)`, or `(num_crops, C, T, S, S)`. Every step works frame by frame, so `join` of
        the parts of single frames gives `__call__` of their clip bit for bit, and a frame shared by
        overlapping windows (`predict`, `watch`) is resized once."""
        if self.train:
            raise ValueError("training crops and flips are drawn per clip: transform whole clips")
        return self._transform(frames)

    def join(self, parts: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """The clip from `spatial`'s output, or from a sequence of such parts in frame order (joined
        along T); adds the frame differences of the diff modalities, the one step across frames."""
        clip = parts if torch.is_tensor(parts) else torch.cat(list(parts), dim=-3)
        return frame_differences(clip, keep_frames=self.differences == "append") if self.differences else clip

    def _transform(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        if not torch.is_tensor(frames) or frames.dtype == torch.uint8:  # decoded uint8 (T, H, W, C)
            clip = _uint8_clip(frames)  # (C, T, H, W) uint8; resize converts it to [0, 1]
        else:
            clip = frames
        clip = resize(clip, self.resize, self.interpolation, self.antialias, self.round_resized)
        if self.channel_order == "BGR" and clip.shape[0] == 3:
            clip = clip.flip(0)  # after the resize, which works per channel: a smaller copy
        if self.train:
            if self.resized_crop:
                clip = random_resized_crop(clip, self.crop_size)
            else:
                clip = random_crop(clip, self.crop_size)
            if self.flip and torch.rand(()) < 0.5:
                clip = hflip(clip)
                if self.flip_negates_channel is not None:
                    clip[self.flip_negates_channel] = 1.0 - clip[self.flip_negates_channel]
            if self.jitter and clip.shape[0] == 3:
                clip = color_jitter(clip)
            return normalize(clip, self.mean, self.std)
        if self.num_crops == 3:
            return normalize(three_crop(clip, self.crop_size), self.mean, self.std)
        if self.num_crops != 1:
            raise ValueError(f"num_crops must be 1 or 3, got {self.num_crops}")
        return normalize(center_crop(clip, self.crop_size), self.mean, self.std)


def scaled_stats(mean: Sequence[float], std: Sequence[float], input_scale: float) -> tuple[list[float], list[float]]:
    """Mean/std for [0, 1] input from stats given on `input_scale` (255 for Hara's 0-255 models)."""
    return [m / input_scale for m in mean], [s / input_scale for s in std]
