"""R3D-18, MC3-18 and R(2+1)D-18 (Tran et al. 2018, "A Closer Look at Spatiotemporal Convolutions").

Module tree and state_dict keys are those of torchvision's ``models/video/resnet.py``, so
torchvision's Kinetics-400 files load with ``strict=True``. One ``BasicBlock`` (``blocks``) serves
all three networks; what differs is the conv builder each stage gets and the stem.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import VideoClassifier, init_weights
from .blocks import BasicBlock, Conv2Plus1D, Conv3DNoTemporal, Conv3DSimple, ConvBuilder, make_stage
from .cfg import ModelCfg, kinetics400_names, weights_cfg
from .registry import register_model

_TV = "https://download.pytorch.org/models"
# torchvision trained and tested these on Kinetics-400 resampled to 15 fps, 16-frame clips, 5 clips
# per video at test (references/video_classification/train.py); the weights' transform resizes
# uint8 frames to 128x171, bilinear without antialias, then centre-crops 112 and normalises
# (torchvision/transforms/_presets.py, VideoClassification).
_TV_SOURCE = (
    "pytorch/vision references/video_classification/train.py: Kinetics400(frame_rate=15, frames_per_clip=--clip-len 16), "
    "UniformClipSampler(--clips-per-video 5); torchvision/transforms/_presets.py VideoClassification: "
    "F.resize(uint8, (128, 171), BILINEAR, antialias=False), center_crop 112, convert_image_dtype, normalize"
)


def _tv_cfg(name: str) -> ModelCfg:
    return ModelCfg(
        name=name, frame_rate=15.0, clip_len=16, frame_stride=1, resize=(128, 171), antialias=False,
        round_resized=True, crop_size=112, eval_clips=5, label_names=kinetics400_names(), source=_TV_SOURCE,
    )


default_cfgs = {
    name: {"kinetics400": weights_cfg(_tv_cfg(name), "kinetics400", f"{_TV}/{file}")}
    for name, file in (
        ("r3d_18", "r3d_18-b3b3357e.pth"),
        ("mc3_18", "mc3_18-a90a0ba3.pth"),
        ("r2plus1d_18", "r2plus1d_18-91a641e6.pth"),
    )
}


class BasicStem(nn.Sequential):
    """3x7x7 conv, spatial stride 2."""

    def __init__(self, in_chans: int = 3):
        super().__init__(
            nn.Conv3d(in_chans, 64, kernel_size=(3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class R2Plus1dStem(nn.Sequential):
    """1x7x7 spatial conv to 45 channels, then 3x1x1 temporal conv to 64."""

    def __init__(self, in_chans: int = 3):
        super().__init__(
            nn.Conv3d(in_chans, 45, kernel_size=(1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, kernel_size=(3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )


class VideoResNet(VideoClassifier):
    """torchvision's video ResNet: stem, four stages of ``BasicBlock``, global average pool, fc."""

    stage_names = ("stem", "layer1", "layer2", "layer3", "layer4", "fc")
    classifier_name = "fc"
    first_conv = "stem.0"

    def __init__(
        self,
        conv_makers: tuple[ConvBuilder, ConvBuilder, ConvBuilder, ConvBuilder],
        stem: type[nn.Module],
        layers: tuple[int, int, int, int] = (2, 2, 2, 2),
        num_classes: int = 400,
        in_chans: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, 512 * BasicBlock.expansion
        self.inplanes = 64
        self.stem = stem(in_chans)
        self.layer1 = self._make_layer(conv_makers[0], 64, layers[0], stride=1)
        self.layer2 = self._make_layer(conv_makers[1], 128, layers[1], stride=2)
        self.layer3 = self._make_layer(conv_makers[2], 256, layers[2], stride=2)
        self.layer4 = self._make_layer(conv_makers[3], 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.dropout = nn.Dropout(dropout)  # parameter-free: torchvision's keys are unaffected
        self.fc = nn.Linear(self.num_features, num_classes)
        init_weights(self)

    def _make_layer(self, conv_builder: ConvBuilder, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layer = make_stage(BasicBlock, conv_builder, self.inplanes, planes, blocks, stride, nested_norm=True)
        self.inplanes = planes * BasicBlock.expansion
        return layer

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, 64, T, H/2, W/2)
        x = self.layer1(x)
        x = self.layer2(x)  # (B, 128, T/2, H/4, W/4); MC3 keeps T from here on
        x = self.layer3(x)
        return self.layer4(x)  # (B, 512, T/8, H/16, W/16) for R3D and R(2+1)D

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.avgpool(x).flatten(1)  # (B, 512)
        return x if pre_logits else self.fc(self.dropout(x))


@register_model
def r3d_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    """R3D-18: full 3x3x3 convolutions everywhere (33.4M params)."""
    return VideoResNet((Conv3DSimple,) * 4, BasicStem, num_classes=num_classes, **kwargs)


@register_model
def mc3_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    """MC3-18: 3D convolutions in layer1, 2D (1x3x3) ones in layers 2-4 (11.7M params)."""
    return VideoResNet((Conv3DSimple,) + (Conv3DNoTemporal,) * 3, BasicStem, num_classes=num_classes, **kwargs)


@register_model
def r2plus1d_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    """R(2+1)D-18: every 3x3x3 conv factorised into 1x3x3 then 3x1x1 (31.5M params)."""
    return VideoResNet((Conv2Plus1D,) * 4, R2Plus1dStem, num_classes=num_classes, **kwargs)
