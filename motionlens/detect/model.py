"""The action detector: a zoo 3D backbone, time pooled away, RoIAlign on the keyframe's features, then
per box max pooling, dropout and a linear layer whose sigmoid scores every action (PySlowFast's
`ResNetRoIHead`, MMAction2's `BBoxHeadAVA`)."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..models import create_model
from ..models.finetune import freeze
from .roi_align import roi_align


class ActionDetector(nn.Module):
    """clips (B, C, T, H, W) and boxes (R, 5) `batch_index, x1, y1, x2, y2` normalised to 0-1
    -> (R, num_classes) logits (independent sigmoids: a person can do several things at once)."""

    def __init__(self, backbone: nn.Module, num_classes: int, feature_channels: int, roi_size: int = 7,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.num_classes = num_classes
        self.roi_size = roi_size
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(feature_channels, num_classes)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def box_features(self, clips: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """(R, C') pooled features of each box."""
        features = self.backbone.forward_features(clips)  # (B, C', T', H', W')
        features = features.mean(dim=2)  # (B, C', H', W'): the whole clip speaks for its keyframe
        height, width = clips.shape[-2:]
        pixels = boxes.clone()
        pixels[:, 1::2] = boxes[:, 1::2] * width
        pixels[:, 2::2] = boxes[:, 2::2] * height
        scale = features.shape[-1] / width  # 1 / feature stride
        pooled = roi_align(features, pixels, self.roi_size, spatial_scale=scale, sampling_ratio=0, aligned=True)
        return pooled.amax(dim=(2, 3))  # (R, C')

    def forward(self, clips: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.box_features(clips, boxes)))


def feature_channels(backbone: nn.Module, in_chans: int = 3) -> int:
    """Channels of `forward_features`, found by running a tiny clip (X3D's differ from num_features)."""
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        channels = backbone.forward_features(torch.zeros(1, in_chans, 4, 32, 32)).shape[1]
    backbone.train(was_training)
    return int(channels)


def build_detector(backbone: str, num_classes: int, pretrained: str | bool | None = None,
                   finetune_from: str | None = None, freeze_bn: bool = False, dropout: float = 0.5,
                   roi_size: int = 7, **backbone_kwargs) -> ActionDetector:
    """Any zoo model name as the backbone (`pretrained` as in `create_model`, e.g. "kinetics400"),
    with classification's transfer options: freeze stages before `finetune_from`, freeze BatchNorms."""
    net = create_model(backbone, pretrained=pretrained or None, **backbone_kwargs)
    freeze(net, finetune_from=finetune_from, freeze_bn=freeze_bn)
    in_chans = getattr(net, "in_chans", 3)
    return ActionDetector(net, num_classes, feature_channels(net, in_chans), roi_size, dropout)


def detector_state(model: ActionDetector, cfg: dict, labelmap: dict[int, str], **extra) -> dict:
    """A plain checkpoint dict that carries its config and label map (what `load_detector` reads)."""
    return {"kind": "ava_detector", "model": model.state_dict(), "config": cfg,
            "labelmap": {int(k): v for k, v in labelmap.items()}, **extra}


def load_detector(run_or_checkpoint: str, which: str = "best") -> tuple[ActionDetector, dict]:
    """(model in eval mode on the CPU, checkpoint dict) from a run folder of `ava train` or a file."""
    from ..core.errors import MotionlensError
    from ..training.checkpoint import read_training_checkpoint, resolve_checkpoint

    path = resolve_checkpoint(run_or_checkpoint, which)
    state = read_training_checkpoint(path)
    if state.get("kind") != "ava_detector":
        raise MotionlensError(f"{path}: not a checkpoint of `motionlens ava train`")
    cfg = state["config"]
    model = build_detector(cfg["backbone"], len(state["labelmap"]), dropout=cfg["dropout"], roi_size=cfg["roi_size"])
    model.load_state_dict(state["model"])
    return model.eval(), state
