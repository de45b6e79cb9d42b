"""The detector on zoo backbones: shapes, each box scored from its own region, transfer options."""

import pytest
import torch

from motionlens.detect.model import build_detector


@pytest.mark.parametrize("backbone", ["cnn3d_small", "r3d_18", pytest.param("x3d_xs", marks=pytest.mark.slow)])
def test_scores_every_box(backbone):
    torch.manual_seed(0)
    model = build_detector(backbone, num_classes=5).eval()
    clips = torch.randn(2, 3, 8, 64, 64)
    boxes = torch.tensor([[0, 0.1, 0.1, 0.5, 0.9], [1, 0.5, 0.0, 1.0, 1.0], [1, 0.0, 0.0, 0.3, 0.3]])
    with torch.no_grad():
        logits = model(clips, boxes)
    assert logits.shape == (3, 5) and torch.isfinite(logits).all()


def test_a_box_sees_only_its_region_and_gradients_reach_the_backbone():
    torch.manual_seed(0)
    model = build_detector("cnn3d_small", num_classes=3, dropout=0.0).eval()
    clips = torch.randn(1, 3, 8, 64, 64)
    left = torch.tensor([[0, 0.0, 0.0, 0.3, 1.0]])
    changed = clips.clone()
    changed[..., 48:] = torch.randn_like(changed[..., 48:])  # the right quarter only
    with torch.no_grad():
        before, after = model.box_features(clips, left), model.box_features(changed, left)
        whole = model.box_features(clips, torch.tensor([[0, 0.0, 0.0, 1.0, 1.0]]))
        whole_after = model.box_features(changed, torch.tensor([[0, 0.0, 0.0, 1.0, 1.0]]))
    # receptive fields reach across, but a box far from the change moves far less than the whole frame
    assert (after - before).abs().mean() < 0.5 * (whole_after - whole).abs().mean()
    model.train()
    model(clips, left).sum().backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0


def test_freeze_to_a_stage():
    model = build_detector("r3d_18", num_classes=2, finetune_from="layer4")
    assert not any(p.requires_grad for p in model.backbone.layer3.parameters())
    assert all(p.requires_grad for p in model.backbone.layer4.parameters()) and model.fc.weight.requires_grad
