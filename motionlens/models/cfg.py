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

# The torch.hub file-name convention: "<name>-<first 8+ hex digits of sha256>.<ext>".
_HASH_IN_NAME = re.compile(r"-([a-f0-9]{6,})\.")


@dataclass(frozen=True)
class ModelCfg:
    """Input contract of a model or of one set of its weights.

    The model input is ``(frames_uint8 / 255 * input_scale - mean) / std`` laid out as
    ``(B, C, T, H, W)``. ``resize`` is ``(H, W)`` or an int short side; ``crop_size`` is the
    square centre crop; ``clip_len`` frames are taken every ``frame_stride`` frames.
    """

    name: str
    num_classes: int = 400
    mean: tuple[float, float, float] = TV_KINETICS_MEAN
    std: tuple[float, float, float] = TV_KINETICS_STD
    input_scale: float = 1.0  # 1.0: pixels in [0, 1]; 255.0: pixels in [0, 255] (Hara's models)
    resize: tuple[int, int] | int = (128, 171)
    crop_size: int = 112
    clip_len: int = 16
    frame_stride: int = 1
    in_chans: int = 3
    label_names: tuple[str, ...] = ()
    url: str = ""
    sha256: str = ""  # a hex prefix is enough (torch.hub check_hash semantics); "" skips the check
    file_name: str = ""
    tag: str = ""  # weights tag ("kinetics400"...); "" for an untrained architecture default

    @property
    def input_size(self) -> tuple[int, int, int, int]:
        """Default single-clip input ``(C, T, H, W)``."""
        return (self.in_chans, self.clip_len, self.crop_size, self.crop_size)


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
