"""2D ResNet-18/50/152 (He et al. 2016) with torchvision's ImageNet state_dict keys.

Used as the per-frame encoder of the CRNN and as a building block for two-stream models; these
are image models, so they are not registered as video models. ``in_chans != 3`` adapts ``conv1``
for stacked optical flow (2L channels): RGB weights are averaged over channels and replicated,
TSN's cross-modality initialisation.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
import torch.nn as nn

from .base import VideoClassifier, new_classifier
# BasicBlock and Bottleneck are importable from here too, where the two-stream models take them.
from .blocks import BasicBlock, Bottleneck, Conv2DSimple, make_stage
from .cfg import IMAGENET_MEAN, IMAGENET_STD, ModelCfg, for_model, weights_cfg

_TV = "https://download.pytorch.org/models"


def _imagenet_cfg(name: str) -> ModelCfg:
    return ModelCfg(
        name=name, num_classes=1000, mean=IMAGENET_MEAN, std=IMAGENET_STD, resize=256, crop_size=224, clip_len=1,
        antialias=True, round_resized=True,
        source="torchvision/transforms/_presets.py ImageClassification: resize 256 (232 for v2) bilinear antialias, crop 224",
    )


IMAGENET_CFGS: dict[str, dict[str, ModelCfg]] = {
    "resnet2d_18": {"imagenet": weights_cfg(_imagenet_cfg("resnet2d_18"), "imagenet", f"{_TV}/resnet18-f37072fd.pth")},
    "resnet2d_50": {
        "imagenet": weights_cfg(_imagenet_cfg("resnet2d_50"), "imagenet", f"{_TV}/resnet50-0676ba61.pth"),
        "imagenet_v2": weights_cfg(
            _imagenet_cfg("resnet2d_50"), "imagenet_v2", f"{_TV}/resnet50-11ad3fa6.pth", resize=232
        ),
    },
    "resnet2d_152": {
        "imagenet": weights_cfg(_imagenet_cfg("resnet2d_152"), "imagenet", f"{_TV}/resnet152-394f9c45.pth"),
        "imagenet_v2": weights_cfg(
            _imagenet_cfg("resnet2d_152"), "imagenet_v2", f"{_TV}/resnet152-f82ba261.pth", resize=232
        ),
    },
}


class ResNet2d(VideoClassifier):
    """Image ResNet: ``(B, C, H, W)`` -> ``(B, num_classes)``; ``num_classes=0`` gives pooled features."""

    stage_names = ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc")
    classifier_name = "fc"
    first_conv = "conv1"

    def __init__(
        self, block: type[nn.Module], layers: tuple[int, int, int, int], num_classes: int = 1000, in_chans: int = 3
    ):
        super().__init__()
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, 512 * block.expansion
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_chans, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = new_classifier(self.num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, block: type[nn.Module], planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layer = make_stage(block, Conv2DSimple, self.inplanes, planes, blocks, stride)
        self.inplanes = planes * block.expansion
        return layer

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64, H/4, W/4)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)  # (B, num_features, H/32, W/32)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.avgpool(x).flatten(1)  # (B, num_features)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images -> ``(B, num_classes)`` logits (or pooled features if ``num_classes=0``)."""
        return self.forward_head(self.forward_features(x))


def _resnet2d(
    name: str,
    block: type[nn.Module],
    layers: tuple[int, int, int, int],
    num_classes: int,
    in_chans: int,
    pretrained: str | Path | None,
) -> ResNet2d:
    from .weights import load_weights

    model = ResNet2d(block, layers, num_classes=num_classes, in_chans=in_chans)
    weights = IMAGENET_CFGS[name]
    if pretrained is not None and str(pretrained) in weights:
        cfg = weights[str(pretrained)]
    else:
        file_name = Path(pretrained).name if pretrained is not None else ""
        cfg = replace(weights["imagenet"], tag="", url="", sha256="", file_name=file_name)
    model.cfg = for_model(cfg, num_classes, in_chans)
    if pretrained is not None:
        # The ImageNet head is dropped when num_classes != 1000; conv1 is adapted when in_chans != 3.
        load_weights(model, cfg if cfg.url else pretrained, strict=True)
    return model


def resnet2d_18(num_classes: int = 1000, in_chans: int = 3, pretrained: str | Path | None = None) -> ResNet2d:
    """ResNet-18; ``pretrained`` is None, ``"imagenet"`` (torchvision file, cached download) or a path."""
    return _resnet2d("resnet2d_18", BasicBlock, (2, 2, 2, 2), num_classes, in_chans, pretrained)


def resnet2d_50(num_classes: int = 1000, in_chans: int = 3, pretrained: str | Path | None = None) -> ResNet2d:
    """ResNet-50 (V1.5); ``pretrained`` is None, ``"imagenet"``, ``"imagenet_v2"`` or a path."""
    return _resnet2d("resnet2d_50", Bottleneck, (3, 4, 6, 3), num_classes, in_chans, pretrained)


def resnet2d_152(num_classes: int = 1000, in_chans: int = 3, pretrained: str | Path | None = None) -> ResNet2d:
    """ResNet-152 (V1.5); ``pretrained`` is None, ``"imagenet"``, ``"imagenet_v2"`` or a path."""
    return _resnet2d("resnet2d_152", Bottleneck, (3, 8, 36, 3), num_classes, in_chans, pretrained)


RESNET2D_BUILDERS = {"resnet18": resnet2d_18, "resnet50": resnet2d_50, "resnet152": resnet2d_152}
