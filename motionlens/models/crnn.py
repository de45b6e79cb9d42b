"""CRNN: a 2D CNN encodes every frame, an LSTM reads the frame features in order, a linear layer classifies.

The encoder is either a small CNN trained from scratch or an ImageNet 2D ResNet (18/50/152)
whose keys match torchvision's, loaded with ``encoder_pretrained="imagenet"`` or a file path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
import torch.nn as nn

from ..core.errors import MotionlensError
from .base import VideoClassifier
from .cfg import IMAGENET_MEAN, IMAGENET_STD, ModelCfg
from .finetune import freeze
from .registry import register_model
from .resnet2d import RESNET2D_BUILDERS

_SMALL = ModelCfg(name="crnn", resize=(128, 171), crop_size=112, clip_len=16, decoder_resize_ok=True)
# ImageNet encoders get ImageNet statistics. 112 px frames (not ImageNet's 224) keep a 16-frame
# ResNet-152 clip at ~47 GMACs instead of ~185 on a CPU; pass 224 px frames for full fidelity.
_IMAGENET = replace(_SMALL, mean=IMAGENET_MEAN, std=IMAGENET_STD)
default_cfgs = {
    "crnn": {"": _SMALL},
    **{f"crnn_{enc}": {"": replace(_IMAGENET, name=f"crnn_{enc}")} for enc in ("resnet18", "resnet50", "resnet152")},
}


class SmallFrameEncoder(nn.Module):
    """Four conv-BN-ReLU-maxpool blocks and global pooling: ``(N, C, H, W)`` -> ``(N, 256)``.

    The first conv has stride 2: at full resolution it would cost 4x as much for little gain.
    """

    def __init__(self, in_chans: int = 3, widths: tuple[int, ...] = (32, 64, 128, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_chans
        for i, cout in enumerate(widths):
            conv = (
                nn.Conv2d(cin, cout, 5, stride=2, padding=2, bias=False)
                if i == 0
                else nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            )
            layers += [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = widths[-1]
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)  # (N, 256)


class CRNN(VideoClassifier):
    """Per-frame 2D encoder -> LSTM over time -> dropout -> fc, on ``(B, C, T, H, W)`` clips."""

    stage_names = ("encoder", "lstm", "fc")
    classifier_name = "fc"
    first_conv = "encoder.conv1"

    def __init__(
        self,
        num_classes: int = 400,
        encoder: str = "small",
        in_chans: int = 3,
        hidden_size: int = 256,
        num_layers: int = 1,
        dropout: float = 0.3,
        encoder_pretrained: str | Path | None = None,
        freeze_encoder: bool = False,
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, hidden_size
        if encoder == "small":
            if encoder_pretrained is not None:
                raise MotionlensError(
                    "encoder_pretrained needs a ResNet encoder (resnet18/50/152); the small encoder trains from scratch"
                )
            self.encoder: nn.Module = SmallFrameEncoder(in_chans)
            self.first_conv = "encoder.features.0"
        elif encoder in RESNET2D_BUILDERS:
            # num_classes=0: the encoder ends in global pooling; its ImageNet fc is dropped on load.
            self.encoder = RESNET2D_BUILDERS[encoder](num_classes=0, in_chans=in_chans, pretrained=encoder_pretrained)
        else:
            raise MotionlensError(f"unknown CRNN encoder {encoder!r}: use small, {', '.join(RESNET2D_BUILDERS)}")
        self.lstm = nn.LSTM(self.encoder.num_features, hidden_size, num_layers=num_layers, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)
        if freeze_encoder:
            freeze(self, freeze=["encoder"])  # also keeps the encoder's BatchNorm statistics fixed

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        B, C, T, H, W = x.shape
        frames = x.transpose(1, 2).reshape(B * T, C, H, W)  # (B*T, C, H, W)
        feats = self.encoder(frames).view(B, T, -1)  # (B, T, D)
        out, _ = self.lstm(feats)  # (B, T, hidden)
        return out

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x[:, -1]  # (B, hidden): the LSTM state after the last frame has seen the whole clip
        return x if pre_logits else self.fc(self.dropout(x))


@register_model
def crnn(num_classes: int = 400, **kwargs) -> CRNN:
    """CRNN with the small per-frame CNN (trains from scratch on CPU)."""
    return CRNN(num_classes=num_classes, encoder="small", **kwargs)


@register_model
def crnn_resnet18(num_classes: int = 400, **kwargs) -> CRNN:
    """CRNN with a ResNet-18 frame encoder (``encoder_pretrained="imagenet"`` or a path)."""
    return CRNN(num_classes=num_classes, encoder="resnet18", **kwargs)


@register_model
def crnn_resnet50(num_classes: int = 400, **kwargs) -> CRNN:
    """CRNN with a ResNet-50 frame encoder (``encoder_pretrained="imagenet"`` or a path)."""
    return CRNN(num_classes=num_classes, encoder="resnet50", **kwargs)


@register_model
def crnn_resnet152(num_classes: int = 400, **kwargs) -> CRNN:
    """CRNN with a ResNet-152 frame encoder (``encoder_pretrained="imagenet"`` or a path)."""
    return CRNN(num_classes=num_classes, encoder="resnet152", **kwargs)
