"""`ModelCfg`: what a model (and a set of weights) expects of its input. Weights carry their preprocessing."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..labels import kinetics400_classes

# torchvision's video models were trained on [0, 1] pixels normalised with these statistics.
TV_KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
TV_KINETICS_STD = (0.22803, 0.22145, 0.216989)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# PyTorchVideo / SlowFast recipes (X3D) use a flat 0.45 / 0.225 on [0, 1] pixels.
PTV_KINETICS_MEAN = (0.45, 0.45, 0.45)
PTV_KINETICS_STD = (0.225, 0.225, 0.225)
# Optical flow stored 8-bit (x, y; `data.flow_storage`), on [0, 1]: zero motion at 0.5, and a spread of
# the order of the RGB statistics, so a first convolution initialised from RGB filters (averaged over
# channels) gets inputs on the scale it was trained on. One pixel per frame is 255 / 40 = 6.4 levels,
# i.e. 0.025 on [0, 1], or 0.11 after normalisation.
FLOW_MEAN = (0.5, 0.5)
FLOW_STD = (0.226, 0.226)

# The torch.hub file-name convention: "<name>-<first 8+ hex digits of sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


@dataclass(frozen=True)
class ModelCfg:
    """Input contract of a model or of one set of its weights: everything that makes its input.

    Time: the video is first resampled to ``frame_rate`` fps (None: its own rate); a clip is then
    ``clip_len`` frames taken every ``frame_stride`` frames, or, when ``clip_seconds`` is set
    (PyTorchVideo), the frames shown during ``clip_seconds`` subsampled evenly to ``clip_len``.
    Space: ``resize`` is ``(H, W)`` or an int short side, with ``interpolation`` and
    ``antialias`` (``round_resized``: the original resized uint8 images, so results are whole
    grey levels), then a square centre ``crop_size`` crop. Values: the model input is
    ``(frames_uint8 / 255 * input_scale - mean) / std`` in ``channel_order``, laid out as
    ``(B, C, T, H, W)``. ``eval_clips`` x ``eval_crops`` is the original's reference evaluation.
    ``source`` names the original code the contract was read from.
    """

    name: str
    num_classes: int = 400
    mean: tuple[float, ...] = TV_KINETICS_MEAN
    std: tuple[float, ...] = TV_KINETICS_STD
    input_scale: float = 1.0  # 1.0: pixels in [0, 1]; 255.0: pixels in [0, 255] (Hara's models, C3D)
    frame_rate: float | None = None  # resample every video to this rate first; None = native rate
    clip_len: int = 16
    frame_stride: int = 1  # in frames at `frame_rate` (or native)
    clip_seconds: float | None = None  # PyTorchVideo: clip_len frames spread evenly over this many seconds
    resize: tuple[int, int] | int = (128, 171)
    interpolation: str = "bilinear"
    antialias: bool = False
    round_resized: bool = False  # the original resized uint8 images: results rounded to whole grey levels
    crop_size: int = 112
    channel_order: str = "RGB"
    in_chans: int = 3
    eval_clips: int = 1  # clips per video in the original's reference evaluation
    eval_crops: int = 1  # crops per clip in the original's reference evaluation
    decoder_resize_ok: bool = False  # resizing while decoding (swscale) may stand in for `resize`
    label_names: tuple[str, ...] = ()
    url: str = ""
    sha256: str = ""  # a hex prefix is enough (torch.hub check_hash semantics); "" skips the check
    file_name: str = ""
    tag: str = ""  # weights tag ("kinetics400"...); "" for an untrained architecture default
    source: str = ""  # where the contract comes from (original file and line)

    @property
    def input_size(self) -> tuple[int, int, int, int]:
        """Default single-clip input ``(C, T, H, W)``."""
        return (self.in_chans, self.clip_len, self.crop_size, self.crop_size)

    def contract(self) -> dict[str, str]:
        """The input contract as short human strings, one per aspect (for tables and docs)."""
        rate = f"{self.frame_rate:g} fps" if self.frame_rate else "native fps"
        if self.clip_seconds:
            clip = f"{self.clip_len} frames evenly over {self.clip_seconds:g} s (nominally every {self.frame_stride} at 30 fps)"
        else:
            clip = f"{self.clip_len} frames, every {self.frame_stride}"
        size = "x".join(map(str, self.resize)) if isinstance(self.resize, tuple) else f"short side {self.resize}"
        resize = f"{size} {self.interpolation}, antialias {self.antialias}" + (", uint8" if self.round_resized else "")
        stats = lambda v: ", ".join(f"{x:g}" for x in v)  # noqa: E731
        scale = "0-255" if self.input_scale == 255.0 else "0-1"
        return {
            "time": f"{rate}; {clip}",
            "resize": resize,
            "crop": f"centre {self.crop_size}",
            "values": f"{self.channel_order} {scale}, mean ({stats(self.mean)}), std ({stats(self.std)})",
            "eval": (f"{self.eval_clips} clip(s)" if self.eval_clips else "every non-overlapping clip")
            + f" x {self.eval_crops} crop(s)",
        }


def weights_cfg(cfg: ModelCfg, tag: str, url: str, **changes) -> ModelCfg:
    """A copy of ``cfg`` describing downloadable weights; file name and hash come from the URL."""
    file_name = url.rsplit("/", 1)[-1]
    match = _HASH_IN_NAME.search(file_name)
    changes.setdefault("sha256", match.group(1) if match else "")
    return replace(cfg, tag=tag, url=url, file_name=file_name, **changes)


def kinetics400_names() -> tuple[str, ...]:
    return tuple(kinetics400_classes())


def for_model(cfg: ModelCfg, num_classes: int, in_chans: int) -> ModelCfg:
    """``cfg`` adjusted to a built model: label names only survive when the class count matches."""
    if num_classes != cfg.num_classes:
        cfg = replace(cfg, num_classes=num_classes, label_names=())
    if in_chans != cfg.in_chans:
        cfg = replace(cfg, in_chans=in_chans)
    return cfg
