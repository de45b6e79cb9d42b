"""Two-stream networks (Simonyan & Zisserman 2014; TSN, Wang et al. 2016): an appearance stream on
RGB frames, a motion stream on optical flow, and late fusion of their softmax scores.

Streams are ordinary registered models, trained on their own with `motionlens train`
(`data.modality: rgb` for the spatial stream, `flow` for the temporal one):

  spatial_resnet18/50    2D ResNet applied to every frame of `(B, 3, T, H, W)`; the logits are
                         averaged over T (TSN consensus; T = 1 is a single frame). Keys are
                         torchvision's, so `pretrained="imagenet"` loads its ImageNet files.
  temporal_resnet18/50   2D ResNet on L stacked flow frames: `(B, 2, L, H, W)` becomes
                         `(B, 2L, H, W)` ordered x1, y1, x2, y2, ... (L = `clip_len`, default 10).
                         ImageNet weights load with cross-modality initialisation (RGB filters
                         averaged over channels and replicated to 2L).
  temporal_3d            the small 3D CNN on `(B, 2, T, H, W)` flow clips; trains from scratch on a CPU.
  temporal_r3d_18        R3D-18 on flow clips; `pretrained="kinetics400"` with cross-modality init.

`twostream` puts two trained streams together for inference. Its input is one clip of five
channels, RGB then flow, aligned in time (`data.modality: rgb+flow`): `(B, 5, T, H, W)`. It
returns the log of the fused probabilities, `log(w * softmax(s) + (1 - w) * softmax(t))`, so it
is a model like any other: a softmax of its output gives exactly the fused scores. `w` (the
spatial weight) is a buffer, saved with the weights. `training.fusion` tunes it on the validation
split and builds one from two run folders (`training.fusion.load_twostream`).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.errors import MotionlensError
from .base import VideoClassifier
from .cfg import FLOW_MEAN, FLOW_STD, ModelCfg, for_model
from .factory import create_model
from .registry import get_model_cfg, register_model
from .resnet2d import IMAGENET_CFGS, BasicBlock, Bottleneck, ResNet2d
from .cnn3d_small import SmallCNN3D
from .video_resnet import BasicStem, Conv3DSimple, VideoResNet
from .video_resnet import default_cfgs as _video_resnet_cfgs


def _spatial_cfgs(name: str, resnet: str) -> dict[str, ModelCfg]:
    return {tag: replace(cfg, name=name, clip_len=1) for tag, cfg in IMAGENET_CFGS[resnet].items()}


def _flow_cfg(cfg: ModelCfg, name: str, **changes) -> ModelCfg:
    # Flow images (x, y) quantised to uint8: the RGB weights only initialise the stream.
    return replace(cfg, name=name, mean=FLOW_MEAN, std=FLOW_STD, in_chans=2, channel_order="flow x, y",
                   round_resized=False, **changes)


default_cfgs = {
    "spatial_resnet18": _spatial_cfgs("spatial_resnet18", "resnet2d_18"),
    "spatial_resnet50": _spatial_cfgs("spatial_resnet50", "resnet2d_50"),
    "temporal_resnet18": {
        tag: _flow_cfg(cfg, "temporal_resnet18", clip_len=10) for tag, cfg in IMAGENET_CFGS["resnet2d_18"].items()
    },
    "temporal_resnet50": {
        tag: _flow_cfg(cfg, "temporal_resnet50", clip_len=10) for tag, cfg in IMAGENET_CFGS["resnet2d_50"].items()
    },
    "temporal_3d": {"": _flow_cfg(ModelCfg(name="temporal_3d", decoder_resize_ok=True), "temporal_3d")},
    "temporal_r3d_18": {"kinetics400": _flow_cfg(_video_resnet_cfgs["r3d_18"]["kinetics400"], "temporal_r3d_18")},
    # Geometry and statistics are replaced by the streams' own when a model is built.
    "twostream": {
        "": ModelCfg(
            name="twostream",
            mean=(0.485, 0.456, 0.406) + FLOW_MEAN,
            std=(0.229, 0.224, 0.225) + FLOW_STD,
            in_chans=5,
            resize=256,
            crop_size=224,
            clip_len=10,
        )
    },
}


class SpatialResNet(ResNet2d):
    """Per-frame 2D ResNet with the logits averaged over frames: `(B, 3, T, H, W)` -> `(B, num_classes)`.

    Averaging features before the (affine) classifier equals averaging the per-frame logits."""

    def __init__(self, block: type[nn.Module], layers: tuple[int, int, int, int], num_classes: int = 400,
                 in_chans: int = 3, dropout: float = 0.5):
        super().__init__(block, layers, num_classes=num_classes, in_chans=in_chans)
        self.dropout = nn.Dropout(dropout)  # parameter-free: torchvision's keys are unaffected

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:  # (B, 3, H, W): one frame
            x = x.unsqueeze(2)
        B, C, T, H, W = x.shape
        f = super().forward_features(x.transpose(1, 2).reshape(B * T, C, H, W))  # (B*T, D, h, w)
        return f.view(B, T, *f.shape[1:]).transpose(1, 2)  # (B, D, T, h, w)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = x.mean(dim=(2, 3, 4))  # (B, D): over frames and space
        return x if pre_logits else self.fc(self.dropout(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`(B, 3, T, H, W)` clip (or `(B, 3, H, W)` frame) -> `(B, num_classes)` logits."""
        return self.forward_head(self.forward_features(x))


class StackedFlowResNet(ResNet2d):
    """2D ResNet on L stacked flow frames: `(B, 2, L, H, W)` -> `(B, num_classes)`.

    `in_chans` is the clip's channels (2 for flow), as for every video model; the first
    convolution takes `in_chans * clip_len`."""

    def __init__(self, block: type[nn.Module], layers: tuple[int, int, int, int], num_classes: int = 400,
                 in_chans: int = 2, clip_len: int = 10, dropout: float = 0.5):
        super().__init__(block, layers, num_classes=num_classes, in_chans=in_chans * clip_len)
        self.in_chans, self.clip_len = in_chans, clip_len
        self.dropout = nn.Dropout(dropout)

    # The registry sets `cfg` from the name's table; the clip length is a builder argument here.
    @property
    def cfg(self) -> ModelCfg:
        return self._cfg

    @cfg.setter
    def cfg(self, value: ModelCfg) -> None:
        self._cfg = replace(value, clip_len=self.clip_len, in_chans=self.in_chans)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        B, C, L, H, W = x.shape
        if C != self.in_chans or L != self.clip_len:
            raise MotionlensError(
                f"{self.cfg.name} stacks {self.clip_len} frames of {self.in_chans} channels but got clips of "
                f"{L} frames and {C} channels; build it with clip_len={L} (model.options) or set "
                f"data.clip_len={self.clip_len}"
            )
        x = x.transpose(1, 2).reshape(B, L * C, H, W)  # (B, 2L, H, W): x1, y1, x2, y2, ...
        return super().forward_features(x)  # (B, D, h, w)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.avgpool(x).flatten(1)  # (B, D)
        return x if pre_logits else self.fc(self.dropout(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`(B, 2, L, H, W)` flow clip -> `(B, num_classes)` logits."""
        return self.forward_head(self.forward_features(x))


def fuse_log_probs(
    spatial_logits: torch.Tensor, temporal_logits: torch.Tensor, weight: float | torch.Tensor
) -> torch.Tensor:
    """`log(w * softmax(s) + (1 - w) * softmax(t))`, computed stably: `(B, K)` log-probabilities."""
    w = torch.as_tensor(weight, dtype=spatial_logits.dtype, device=spatial_logits.device).clamp(0, 1)
    log_s = F.log_softmax(spatial_logits, dim=1) + torch.log(w)
    log_t = F.log_softmax(temporal_logits, dim=1) + torch.log1p(-w)
    return torch.logaddexp(log_s, log_t)


class TwoStream(VideoClassifier):
    """A spatial and a temporal stream with late fusion: `(B, 3 + C_flow, T, H, W)` -> `(B, K)` fused log-probabilities.

    The first 3 channels go to the spatial stream, the rest (flow x, y) to the temporal one.
    Stages are the whole spatial stream, then the temporal stream's stages, so `get_classifier`
    is the temporal head; `reset_classifier` resets both heads."""

    def __init__(self, spatial: VideoClassifier, temporal: VideoClassifier, weight: float = 0.5):
        super().__init__()
        if spatial.num_classes != temporal.num_classes:
            raise MotionlensError(
                f"the streams disagree on the class count: spatial {spatial.num_classes}, "
                f"temporal {temporal.num_classes}"
            )
        if not 0.0 <= weight <= 1.0:
            raise MotionlensError(f"the fusion weight must be in [0, 1], got {weight}")
        self.spatial, self.temporal = spatial, temporal
        self.register_buffer("fusion_weight", torch.tensor(float(weight)))  # of the spatial stream
        self.num_classes = spatial.num_classes
        self.spatial_chans = spatial.in_chans
        self.in_chans = spatial.in_chans + temporal.in_chans
        self.num_features = spatial.num_features + temporal.num_features
        self.stage_names = ("spatial",) + tuple(f"temporal.{s}" for s in temporal.stage_names)
        self.classifier_name = f"temporal.{temporal.classifier_name}"

    @property
    def cfg(self) -> ModelCfg:
        return self._cfg

    @cfg.setter
    def cfg(self, value: ModelCfg) -> None:
        s, t = self.spatial.cfg, self.temporal.cfg  # the temporal stream fixes the clip geometry
        self._cfg = replace(
            value,
            mean=tuple(s.mean) + tuple(t.mean),
            std=tuple(s.std) + tuple(t.std),
            in_chans=self.in_chans,
            resize=t.resize,
            crop_size=t.crop_size,
            clip_len=t.clip_len,
            frame_stride=t.frame_stride,
        )

    @property
    def weight(self) -> float:
        return float(self.fusion_weight)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rgb, flow = x[:, : self.spatial_chans], x[:, self.spatial_chans :]  # (B, 3, T, H, W), (B, 2, T, H, W)
        return self.spatial.forward_features(rgb), self.temporal.forward_features(flow)

    def forward_head(self, x: tuple[torch.Tensor, torch.Tensor], pre_logits: bool = False) -> torch.Tensor:
        fs, ft = x
        if pre_logits:
            return torch.cat([self.spatial.forward_head(fs, True), self.temporal.forward_head(ft, True)], dim=1)
        return fuse_log_probs(self.spatial.forward_head(fs), self.temporal.forward_head(ft), self.fusion_weight)

    def forward_streams(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each stream's logits, `(B, K)` twice, for per-stream analysis."""
        fs, ft = self.forward_features(x)
        return self.spatial.forward_head(fs), self.temporal.forward_head(ft)

    def reset_classifier(self, num_classes: int) -> None:
        self.spatial.reset_classifier(num_classes)
        self.temporal.reset_classifier(num_classes)
        self.num_classes = num_classes
        if hasattr(self, "_cfg"):
            self.cfg = for_model(self.cfg, num_classes, self.in_chans)


def _spatial(block, layers, num_classes: int, **kwargs) -> SpatialResNet:
    return SpatialResNet(block, layers, num_classes=num_classes, **kwargs)


def _temporal(block, layers, num_classes: int, **kwargs) -> StackedFlowResNet:
    return StackedFlowResNet(block, layers, num_classes=num_classes, **kwargs)


@register_model
def spatial_resnet18(num_classes: int = 400, **kwargs) -> SpatialResNet:
    """Spatial stream: ResNet-18 per RGB frame, logits averaged over frames (`pretrained="imagenet"`)."""
    return _spatial(BasicBlock, (2, 2, 2, 2), num_classes, **kwargs)


@register_model
def spatial_resnet50(num_classes: int = 400, **kwargs) -> SpatialResNet:
    """Spatial stream: ResNet-50 per RGB frame, logits averaged over frames (`pretrained="imagenet"`)."""
    return _spatial(Bottleneck, (3, 4, 6, 3), num_classes, **kwargs)


@register_model
def temporal_resnet18(num_classes: int = 400, **kwargs) -> StackedFlowResNet:
    """Temporal stream: ResNet-18 on `clip_len` (10) stacked flow frames (`pretrained="imagenet"`, cross-modality)."""
    return _temporal(BasicBlock, (2, 2, 2, 2), num_classes, **kwargs)


@register_model
def temporal_resnet50(num_classes: int = 400, **kwargs) -> StackedFlowResNet:
    """Temporal stream: ResNet-50 on `clip_len` (10) stacked flow frames (`pretrained="imagenet"`, cross-modality)."""
    return _temporal(Bottleneck, (3, 4, 6, 3), num_classes, **kwargs)


@register_model
def temporal_3d(num_classes: int = 400, in_chans: int = 2, **kwargs) -> SmallCNN3D:
    """Temporal stream: the small 3D CNN on `(B, 2, T, H, W)` flow clips (trains from scratch on a CPU)."""
    return SmallCNN3D(num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def temporal_r3d_18(num_classes: int = 400, in_chans: int = 2, **kwargs) -> VideoResNet:
    """Temporal stream: R3D-18 on flow clips (`pretrained="kinetics400"`, cross-modality init)."""
    return VideoResNet((Conv3DSimple,) * 4, BasicStem, num_classes=num_classes, in_chans=in_chans, **kwargs)


@register_model
def twostream(
    num_classes: int = 400,
    spatial: str = "spatial_resnet50",
    temporal: str = "temporal_resnet50",
    weight: float = 0.5,
    spatial_options: dict | None = None,
    temporal_options: dict | None = None,
    in_chans: int = 5,
) -> TwoStream:
    """Late fusion of two registered streams on `(B, 5, T, H, W)` RGB + flow clips; `weight` is the spatial share.

    `in_chans` is accepted so that saved builder arguments round-trip; it must be 5."""
    if in_chans != 5:
        raise MotionlensError(f"twostream takes 5-channel clips (RGB + flow), not in_chans={in_chans}")
    streams = []
    for name, options, channels in ((spatial, spatial_options, 3), (temporal, temporal_options, 2)):
        if get_model_cfg(name).in_chans != channels:
            raise MotionlensError(
                f"{name} takes {get_model_cfg(name).in_chans}-channel clips; "
                f"the {'spatial' if channels == 3 else 'temporal'} stream must take {channels}"
            )
        streams.append(create_model(name, num_classes=num_classes, **(options or {})))
    if not math.isfinite(weight):
        raise MotionlensError(f"the fusion weight must be a number in [0, 1], got {weight}")
    return TwoStream(streams[0], streams[1], weight)
