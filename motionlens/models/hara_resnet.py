"""Hara, Kataoka and Satoh's 3D ResNets ("Can Spatiotemporal 3D CNNs Retrace the History of 2D CNNs
and ImageNet?", CVPR 2018; repository kenshohara/3D-ResNets-PyTorch, 2017/2018 release).

Keys match that release (``conv1``, ``bn1``, ``layer1..4``, ``fc``), so its Kinetics checkpoints
(``resnet-34-kinetics.pth``...) load through :func:`load_hara_checkpoint`. Shortcut "A" (the
release's default for ResNet-18/34) is a parameter-free strided identity with zero-padded
channels; shortcut "B" is a 1x1x1 conv + BN. Unlike the release, pooling is adaptive, so any clip
size works, and the shortcut-A identity keeps its gradient (the release cut it with ``.data``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.errors import MotionlensError
from .base import VideoClassifier, init_weights
from .blocks import BasicBlock, Bottleneck, Conv3DSimple, ConvBuilder, make_stage, projection_shortcut
from .cfg import ModelCfg, kinetics400_names
from .registry import register_model

# The release subtracted a per-dataset mean from 0-255 pixels and did not divide by a std.
HARA_KINETICS_MEAN = (110.63666788, 103.16065604, 96.29023126)
HARA_ACTIVITYNET_MEAN = (114.7748, 107.7354, 99.4750)

_DEPTHS = {
    10: ("basic", (1, 1, 1, 1)),
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}


_HARA_SOURCE = (
    "kenshohara/3D-ResNets-PyTorch (CVPR2018 branch): opts.py --mean_dataset default activitynet, --norm_value 1, "
    "--sample_size 112, --sample_duration 16; mean.py get_mean activitynet [114.7748, 107.7354, 99.4750]; main.py "
    "val/test: Scale(112), CenterCrop(112), ToTensor(norm_value), Normalize(mean, [1, 1, 1]); spatial_transforms.py "
    "Scale: PIL resize BILINEAR; test.py: non-overlapping 16-frame clips (LoopPadding), scores averaged"
)


def _hara_cfg(name: str) -> ModelCfg:
    # The released Kinetics models: 0-255 pixels minus the ActivityNet mean (the code's default
    # --mean_dataset), no std; short side 112 by PIL bilinear (antialiased, uint8), centre crop
    # 112, 16 consecutive frames at the video's own rate. No download: Hara's files are on Google
    # Drive; load one by path and it gets this contract.
    return ModelCfg(
        name=name,
        mean=HARA_ACTIVITYNET_MEAN,
        std=(1.0, 1.0, 1.0),
        input_scale=255.0,
        resize=112,
        antialias=True,
        round_resized=True,
        crop_size=112,
        clip_len=16,
        frame_stride=1,
        eval_clips=0,
        label_names=kinetics400_names(),
        tag="kinetics",
        source=_HARA_SOURCE,
    )


default_cfgs = {f"resnet3d_{d}": {"kinetics": _hara_cfg(f"resnet3d_{d}")} for d in _DEPTHS}


class ZeroPadShortcut(nn.Module):
    """Shortcut "A": subsample by ``stride`` and append zero channels up to ``planes`` (no parameters)."""

    def __init__(self, planes: int, stride: int):
        super().__init__()
        self.planes, self.stride = planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x[:, :, :: self.stride, :: self.stride, :: self.stride]  # = avg_pool3d(kernel 1, stride)
        return F.pad(out, (0, 0, 0, 0, 0, 0, 0, self.planes - out.shape[1]))  # (B, planes, T', H', W')


def zero_pad_shortcut(conv_builder: ConvBuilder, inplanes: int, outplanes: int, stride: int) -> ZeroPadShortcut:
    """Shortcut "A" in the signature `make_stage` takes (the conv builder plays no part)."""
    return ZeroPadShortcut(outplanes, stride)


class HaraResNet(VideoClassifier):
    """3D ResNet of the 2017/2018 release: 7x7x7 stem, max pool, four stages, average pool, fc."""

    stage_names = ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc")
    classifier_name = "fc"
    first_conv = "conv1"

    def __init__(
        self,
        depth: int = 34,
        shortcut_type: str = "A",
        num_classes: int = 400,
        in_chans: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        if depth not in _DEPTHS:
            raise MotionlensError(f"Hara 3D ResNet depth must be one of {sorted(_DEPTHS)}, not {depth}")
        if shortcut_type not in ("A", "B"):
            raise MotionlensError(f"shortcut_type must be 'A' or 'B', not {shortcut_type!r}")
        kind, layers = _DEPTHS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        self.depth, self.shortcut_type = depth, shortcut_type
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, 512 * block.expansion
        self.inplanes = 64
        self.conv1 = nn.Conv3d(in_chans, 64, kernel_size=7, stride=(1, 2, 2), padding=(3, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], shortcut_type)
        self.layer2 = self._make_layer(block, 128, layers[1], shortcut_type, stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], shortcut_type, stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], shortcut_type, stride=2)
        # The release used AvgPool3d sized for 16x112x112; adaptive pooling equals it there.
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.num_features, num_classes)
        init_weights(self, linear_std=None)

    def _make_layer(
        self, block: type[nn.Module], planes: int, blocks: int, shortcut_type: str, stride: int = 1
    ) -> nn.Sequential:
        shortcut = zero_pad_shortcut if shortcut_type == "A" else projection_shortcut
        layer = make_stage(block, Conv3DSimple, self.inplanes, planes, blocks, stride, shortcut)
        self.inplanes = planes * block.expansion
        return layer

    @property
    def arch(self) -> str:
        """The release's ``arch`` string for this model, e.g. ``"resnet-34"``."""
        return f"resnet-{self.depth}"

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, T/2, H/4, W/4)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)  # (B, 512 * expansion, T/16, H/32, W/32)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.avgpool(x).flatten(1)  # (B, num_features)
        return x if pre_logits else self.fc(self.dropout(x))


def load_hara_checkpoint(
    path_or_dict: str | Path | Mapping,
    model: HaraResNet | None = None,
    shortcut_type: str | None = None,
) -> HaraResNet:
    """Load an original 3D-ResNets-PyTorch checkpoint; build the model from its ``arch`` if none is given.

    Takes the release's ``{"arch": "resnet-34", "state_dict": {"module.conv1.weight": ...}}`` and
    plain (un-prefixed) state dicts of later versions. The checkpoint's ``arch`` must match
    ``model``. Without ``model``, the shortcut type is read from the keys (only shortcut B has
    ``downsample`` weights) unless ``shortcut_type`` is given.
    """
    from .weights import extract_state_dict, head_num_classes, load_weights, read_torch_file

    source = "checkpoint" if isinstance(path_or_dict, Mapping) else str(path_or_dict)
    checkpoint = path_or_dict if isinstance(path_or_dict, Mapping) else read_torch_file(path_or_dict)
    arch = checkpoint.get("arch") if isinstance(checkpoint, Mapping) else None
    arch = arch if isinstance(arch, str) else None
    state_dict = extract_state_dict(checkpoint, source=source)

    if model is None:
        depth = _depth_of(arch) if arch else None
        if depth is None:
            raise MotionlensError(f"{source}: no 'arch' entry (e.g. 'resnet-34') to build the model from; pass model=")
        has_b = any(".downsample.0.weight" in k for k in state_dict)
        shortcut = shortcut_type or ("B" if has_b else "A")
        classes = head_num_classes(HaraResNet, state_dict) or 400
        model = create_hara(depth, shortcut, classes)
    elif arch is not None and arch != model.arch:
        raise MotionlensError(
            f"{source} holds a {arch!r} checkpoint but the model is {model.arch!r} "
            f"(create resnet3d_{_depth_of(arch) or '?'} instead)"
        )
    classes = head_num_classes(model, state_dict)
    if classes and classes != model.num_classes:
        model.reset_classifier(classes)
    load_weights(model, state_dict, strict=True)
    return model


def _depth_of(arch: str) -> int | None:
    name, _, depth = arch.partition("-")
    return int(depth) if name == "resnet" and depth.isdigit() and int(depth) in _DEPTHS else None


def create_hara(depth: int, shortcut_type: str = "A", num_classes: int = 400, **kwargs) -> HaraResNet:
    """Build ``resnet3d_<depth>`` through the registry (so it carries its cfg)."""
    return _BUILDERS[depth](num_classes=num_classes, shortcut_type=shortcut_type, **kwargs)


@register_model
def resnet3d_10(num_classes: int = 400, shortcut_type: str = "B", **kwargs) -> HaraResNet:
    """Hara 3D ResNet-10 (BasicBlock, 1-1-1-1)."""
    return HaraResNet(10, shortcut_type, num_classes, **kwargs)


@register_model
def resnet3d_18(num_classes: int = 400, shortcut_type: str = "A", **kwargs) -> HaraResNet:
    """Hara 3D ResNet-18 (BasicBlock, 2-2-2-2); shortcut A as the released Kinetics model."""
    return HaraResNet(18, shortcut_type, num_classes, **kwargs)


@register_model
def resnet3d_34(num_classes: int = 400, shortcut_type: str = "A", **kwargs) -> HaraResNet:
    """Hara 3D ResNet-34 (BasicBlock, 3-4-6-3); shortcut A as the released Kinetics model."""
    return HaraResNet(34, shortcut_type, num_classes, **kwargs)


@register_model
def resnet3d_50(num_classes: int = 400, shortcut_type: str = "B", **kwargs) -> HaraResNet:
    """Hara 3D ResNet-50 (Bottleneck, 3-4-6-3); shortcut B as the released Kinetics model."""
    return HaraResNet(50, shortcut_type, num_classes, **kwargs)


@register_model
def resnet3d_101(num_classes: int = 400, shortcut_type: str = "B", **kwargs) -> HaraResNet:
    """Hara 3D ResNet-101 (Bottleneck, 3-4-23-3); shortcut B as the released Kinetics model."""
    return HaraResNet(101, shortcut_type, num_classes, **kwargs)


_BUILDERS = {10: resnet3d_10, 18: resnet3d_18, 34: resnet3d_34, 50: resnet3d_50, 101: resnet3d_101}
