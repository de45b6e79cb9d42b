"""X3D-XS (Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition", CVPR 2020).

Same module tree and state_dict keys as PyTorchVideo's ``create_x3d`` (``blocks.0`` stem,
``blocks.1-4`` residual stages, ``blocks.5`` head), so PyTorchVideo's Kinetics-400 ``X3D_XS.pyth``
loads with ``strict=True`` (its ``model_state`` wrapper is unwrapped by the loader). The head's
(4, 5, 5) average pool is followed, as there, by post_conv + ReLU per window and an average, so
inputs larger than 4x160x160 (the hub's 182 px) give PyTorchVideo's outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import VideoClassifier, init_weights
from .cfg import PTV_KINETICS_MEAN, PTV_KINETICS_STD, ModelCfg, kinetics400_names, weights_cfg
from .registry import register_model

default_cfgs = {
    "x3d_xs": {
        # PyTorchVideo's hub transform for X3D-XS: the frames of a 4 x 12 / 30 = 1.6 s clip at the
        # video's own rate, 4 of them evenly spread (UniformTemporalSubsample), /255, mean/std 0.45/0.225,
        # short side 182 (bilinear, no antialias), centre crop 182.
        # No published sha256 for this file, so the download is not hash-checked.
        "kinetics400": weights_cfg(
            ModelCfg(
                name="x3d_xs",
                mean=PTV_KINETICS_MEAN,
                std=PTV_KINETICS_STD,
                resize=182,
                antialias=False,
                crop_size=182,
                clip_len=4,
                frame_stride=12,
                clip_seconds=4 * 12 / 30,
                eval_clips=10,
                eval_crops=3,
                label_names=kinetics400_names(),
                source=(
                    "pytorch/hub facebookresearch_pytorchvideo_x3d.md: model_transform_params x3d_xs side_size 182, "
                    "crop_size 182, num_frames 4, sampling_rate 12, frames_per_second 30, mean 0.45, std 0.225; "
                    "UniformTemporalSubsample, Lambda(x/255), NormalizeVideo, ShortSideScale, CenterCropVideo; "
                    "clip_duration = num_frames * sampling_rate / frames_per_second; "
                    "EncodedVideo.get_clip(start, start + clip_duration); pytorchvideo docs/source/model_zoo.md: "
                    "X3D XS 4x12, 0.91 GFLOPs x 3 x 10 views"
                ),
            ),
            "kinetics400",
            "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/X3D_XS.pyth",
        ),
    },
}


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """X3D's channel rounding (PyTorchVideo's ``round_width``)."""
    width *= multiplier
    out = max(min_width, int(width + divisor / 2) // divisor * divisor)
    return int(out + divisor if out < 0.9 * width else out)


class Stem(nn.Module):
    """1x3x3 spatial conv then depthwise 5x1x1 temporal conv, BN, ReLU (keys ``conv.conv_t``/``conv.conv_xy``)."""

    def __init__(self, in_chans: int, out_chans: int):
        super().__init__()
        self.conv = nn.Module()
        # PyTorchVideo names them the other way round (conv_t is the spatial one); kept for its keys.
        self.conv.conv_t = nn.Conv3d(in_chans, out_chans, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), bias=False)
        self.conv.conv_xy = nn.Conv3d(out_chans, out_chans, (5, 1, 1), padding=(2, 0, 0), groups=out_chans, bias=False)
        self.norm = nn.BatchNorm3d(out_chans)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv.conv_xy(self.conv.conv_t(x))))


class SqueezeExcitation(nn.Module):
    """Channel gating from the global mean (fvcore's SE: keys ``block.0``, ``block.2``)."""

    def __init__(self, channels: int, reduced: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv3d(channels, reduced, 1), nn.ReLU(inplace=True), nn.Conv3d(reduced, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.block(x.mean(dim=(2, 3, 4), keepdim=True))  # (B, C, 1, 1, 1) gates


class Bottleneck(nn.Module):
    """1x1x1 expand -> depthwise 3x3x3 (+SE) -> swish -> 1x1x1 project."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, stride: int, use_se: bool):
        super().__init__()
        self.conv_a = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.norm_a = nn.BatchNorm3d(dim_inner)
        self.act_a = nn.ReLU(inplace=True)
        self.conv_b = nn.Conv3d(
            dim_inner, dim_inner, 3, stride=(1, stride, stride), padding=1, groups=dim_inner, bias=False
        )
        se = SqueezeExcitation(dim_inner, round_width(dim_inner, 0.0625)) if use_se else nn.Identity()
        self.norm_b = nn.Sequential(nn.BatchNorm3d(dim_inner), se)
        self.act_b = nn.SiLU(inplace=True)  # swish
        self.conv_c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.norm_c = nn.BatchNorm3d(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class ResBlock(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, stride: int, use_se: bool):
        super().__init__()
        # As PyTorchVideo: a strided 1x1x1 shortcut conv, normalised only when channels change.
        self.branch1_conv = (
            nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            if dim_in != dim_out or stride > 1
            else None
        )
        self.branch1_norm = nn.BatchNorm3d(dim_out) if dim_in != dim_out else None
        self.branch2 = Bottleneck(dim_in, dim_inner, dim_out, stride, use_se)
        self.activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.branch1_conv is not None:
            shortcut = self.branch1_conv(x)
            if self.branch1_norm is not None:
                shortcut = self.branch1_norm(shortcut)
        return self.activation(shortcut + self.branch2(x))


class ResStage(nn.Module):
    def __init__(self, depth: int, dim_in: int, dim_inner: int, dim_out: int, stride: int):
        super().__init__()
        # SE on every other block, starting with the first.
        self.res_blocks = nn.ModuleList(
            ResBlock(dim_in if i == 0 else dim_out, dim_inner, dim_out, stride if i == 0 else 1, use_se=i % 2 == 0)
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class ProjectedPool(nn.Module):
    """1x1x1 conv + BN + ReLU, global average pool, 1x1x1 conv + ReLU (X3D's head "lin5")."""

    def __init__(self, dim_in: int, dim_inner: int, dim_out: int):
        super().__init__()
        self.pre_conv = nn.Conv3d(dim_in, dim_inner, 1, bias=False)
        self.pre_norm = nn.BatchNorm3d(dim_inner)
        self.pre_act = nn.ReLU(inplace=True)
        self.kernel = (4, 5, 5)
        self.post_conv = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.post_act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre_act(self.pre_norm(self.pre_conv(x)))  # (B, dim_inner, T, H/32, W/32)
        # PyTorchVideo pools with a fixed (4, 5, 5) window (the 4x160x160 training input) and
        # averages only after post_conv + ReLU: at the hub's 182 px input that is 2x2 windows.
        kernel = tuple(min(k, n) for k, n in zip(self.kernel, x.shape[-3:]))
        x = self.post_act(self.post_conv(F.avg_pool3d(x, kernel, stride=1)))  # (B, dim_out, t, h, w)
        return x.mean(dim=(2, 3, 4), keepdim=True)  # (B, dim_out, 1, 1, 1)


class Head(nn.Module):
    def __init__(self, dim_in: int, dim_inner: int, dim_out: int, num_classes: int, dropout: float):
        super().__init__()
        self.pool = ProjectedPool(dim_in, dim_inner, dim_out)
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(dim_out, num_classes)


class X3D(VideoClassifier):
    """X3D: stem, four stages of inverted bottlenecks with depthwise 3x3x3 convs, projected-pool head."""

    stage_names = ("blocks.0", "blocks.1", "blocks.2", "blocks.3", "blocks.4", "blocks.5.pool", "blocks.5.proj")
    classifier_name = "blocks.5.proj"
    first_conv = "blocks.0.conv.conv_t"

    def __init__(
        self,
        num_classes: int = 400,
        in_chans: int = 3,
        width_factor: float = 2.0,
        depth_factor: float = 2.2,
        bottleneck_factor: float = 2.25,
        head_dim: int = 2048,
        dropout: float = 0.5,
    ):
        super().__init__()
        stem_dim = round_width(12, width_factor)  # 24
        dims = [12, 24, 48, 96]  # per-stage base widths (each x2 of the previous, divisor 8)
        blocks: list[nn.Module] = [Stem(in_chans, stem_dim)]
        dim_in = stem_dim
        for base_depth, base_dim in zip((1, 2, 5, 3), dims, strict=True):
            dim_out = round_width(base_dim, width_factor)  # 24, 48, 96, 192
            dim_inner = int(bottleneck_factor * dim_out)  # 54, 108, 216, 432
            blocks.append(
                ResStage(math.ceil(depth_factor * base_depth), dim_in, dim_inner, dim_out, stride=2)
            )  # 3, 5, 11, 7 blocks
            dim_in = dim_out
        blocks.append(Head(dim_in, dim_inner, head_dim, num_classes, dropout))
        self.blocks = nn.ModuleList(blocks)
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, head_dim
        init_weights(self)
        for m in self.modules():  # zero-init the last BN of each residual branch: blocks start as identities
            if isinstance(m, Bottleneck):
                nn.init.zeros_(m.norm_c.weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks[:5]:
            x = block(x)  # stem (B, 24, T, H/2, W/2) ... stage 4 (B, 192, T, H/32, W/32)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        head = self.blocks[5]
        x = head.pool(x).flatten(1)  # (B, 2048)
        return x if pre_logits else head.proj(head.dropout(x))


@register_model
def x3d_xs(num_classes: int = 400, **kwargs) -> X3D:
    """X3D-XS, the light real-time CPU model: 4x160x160 clips.

    ``motionlens models`` counts its parameters (PyTorchVideo reports 3.79M) and multiply-adds
    (torch's FlopCounterMode; the paper's "0.6 GFLOPs" counts multiply-adds, i.e. GMACs). Its
    speed per clip on CPU: ``benchmarks/models.py`` (figures in benchmarks/RESULTS.md).
    """
    return X3D(num_classes=num_classes, **kwargs)
