"""`cnn3d_small`: a few-hundred-thousand-parameter 3D CNN that trains from scratch on a CPU."""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import VideoClassifier
from .cfg import ModelCfg
from .registry import register_model

default_cfgs = {
    # The whole frame at 64x64 (the aspect ratio given up, no crop): what trains from scratch in
    # minutes on 2 CPU cores. A 56 px crop of a 64 px short side cuts the object off in some
    # frames and trained worse on `motion6` (benchmarks/RESULTS.md).
    "cnn3d_small": {"": ModelCfg(name="cnn3d_small", resize=(64, 64), crop_size=64, clip_len=16,
                                 decoder_resize_ok=True)},
}


def _conv_block(in_planes: int, out_planes: int, pool: tuple[int, int, int] | None) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv3d(in_planes, out_planes, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm3d(out_planes),
        nn.ReLU(inplace=True),
    ]
    if pool is not None:
        layers.append(nn.MaxPool3d(kernel_size=pool, stride=pool, ceil_mode=True))  # ceil: T or H of 1 survives
    return nn.Sequential(*layers)


class SmallCNN3D(VideoClassifier):
    """Four conv-BN-ReLU-pool blocks then global average pooling and a linear classifier.

    The stem subsamples space only (a strided 1x2x2 step) and keeps all frames so short motion
    survives; later blocks pool time and space. Works for 16x112x112 and 8x64x64 clips alike.
    A stem that subsampled 4x (a max-pool after the strided conv) was 3x cheaper but left
    small moving parts (a turning marker of 2-3 px at 64 px) below its resolution and trained
    worse on `motion6` (benchmarks/RESULTS.md).
    """

    stage_names = ("stem", "block1", "block2", "block3", "block4", "fc")
    classifier_name = "fc"
    first_conv = "stem.0"

    def __init__(
        self,
        num_classes: int = 400,
        in_chans: int = 3,
        widths: tuple[int, int, int, int] = (32, 64, 128, 256),
        dropout: float = 0.3,
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, widths[3]
        self.stem = nn.Sequential(
            nn.Conv3d(in_chans, 16, kernel_size=(3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2), bias=False),
            nn.BatchNorm3d(16),
            nn.ReLU(inplace=True),
        )
        self.block1 = _conv_block(16, widths[0], (1, 2, 2))
        self.block2 = _conv_block(widths[0], widths[1], (2, 2, 2))
        self.block3 = _conv_block(widths[1], widths[2], (2, 2, 2))
        # Depthwise-separable last block: a full 3x3x3 conv at 256 channels alone would be ~900K params.
        self.block4 = nn.Sequential(
            nn.Conv3d(widths[2], widths[2], kernel_size=3, padding=1, groups=widths[2], bias=False),
            nn.Conv3d(widths[2], widths[3], kernel_size=1, bias=False),
            nn.BatchNorm3d(widths[3]),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(widths[3], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)  # (B, 16, T, H/2, W/2)
        x = self.block1(x)  # (B, 32, T, H/4, W/4)
        x = self.block2(x)  # (B, 64, T/2, H/8, W/8)
        x = self.block3(x)  # (B, 128, T/4, H/16, W/16)
        return self.block4(x)  # (B, 256, T/4, H/16, W/16)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(x).flatten(1)  # (B, 256)
        return x if pre_logits else self.fc(self.dropout(x))


@register_model
def cnn3d_small(num_classes: int = 400, **kwargs) -> SmallCNN3D:
    """Small 3D CNN for training from scratch on CPU (about 0.4M parameters with 400 classes)."""
    return SmallCNN3D(num_classes=num_classes, **kwargs)
