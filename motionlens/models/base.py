"""`VideoClassifier`: the head interface every motionlens model shares (timm-style)."""

from __future__ import annotations

import torch
import torch.nn as nn

from .cfg import ModelCfg, for_model


def new_classifier(num_features: int, num_classes: int) -> nn.Module:
    """A fresh linear classifier (small normal init, as torchvision's video models), or Identity for 0."""
    if num_classes <= 0:
        return nn.Identity()
    fc = nn.Linear(num_features, num_classes)
    nn.init.normal_(fc.weight, 0, 0.01)
    nn.init.zeros_(fc.bias)
    return fc


def init_weights(module: nn.Module, linear_std: float | None = 0.01) -> None:
    """Kaiming-normal convs, unit/zero BatchNorm and small-normal linears (torchvision's video
    ResNet init); `linear_std=None` leaves linears at PyTorch's default."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0, linear_std)
            nn.init.zeros_(m.bias)


class VideoClassifier(nn.Module):
    """Base class: ``forward = forward_head(forward_features(x))`` plus classifier bookkeeping.

    Subclasses set ``num_features``, ``num_classes``, ``in_chans``, an ordered ``stage_names``
    (module-name prefixes, classifier last) and ``classifier_name`` (dotted path of the Linear).
    """

    stage_names: tuple[str, ...] = ()
    classifier_name: str = "fc"
    first_conv: str = ""  # weight key prefix adapted when loading 3-channel weights into in_chans != 3
    cfg: ModelCfg

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, H, W)`` float clip -> ``(B, num_classes)`` logits."""
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.get_submodule(self.classifier_name)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one of ``num_classes`` outputs (0: none)."""
        parent_name, _, attr = self.classifier_name.rpartition(".")
        parent = self.get_submodule(parent_name) if parent_name else self
        old = getattr(parent, attr)
        head = new_classifier(self.num_features, num_classes)
        if isinstance(old, nn.Linear):
            head = head.to(device=old.weight.device, dtype=old.weight.dtype)
        setattr(parent, attr, head)
        self.num_classes = num_classes
        if hasattr(self, "cfg"):
            self.cfg = for_model(self.cfg, num_classes, self.cfg.in_chans)
