"""2D ResNets: torchvision ImageNet layout, head interface, in_chans for stacked optical flow."""

from __future__ import annotations

import pytest
import torch

from motionlens.models import resnet2d_18, resnet2d_50, resnet2d_152
from motionlens.models.resnet2d import IMAGENET_CFGS


@pytest.mark.parametrize(
    "builder, params, keys",
    # torchvision's published parameter counts for resnet18/50/152.
    [(resnet2d_18, 11_689_512, 122), (resnet2d_50, 25_557_032, 320), (resnet2d_152, 60_192_808, 932)],
)
def test_torchvision_layout(builder, params, keys):
    with torch.device("meta"):
        model = builder()
    state = model.state_dict()
    assert sum(p.numel() for p in model.parameters()) == params and len(state) == keys
    assert tuple(state["conv1.weight"].shape) == (64, 3, 7, 7) and "bn1.running_var" in state
    assert tuple(state["fc.weight"].shape) == (1000, model.num_features)
    assert "layer2.0.downsample.0.weight" in state and "layer4.1.bn2.weight" in state


def test_bottleneck_keys_of_resnet50():
    with torch.device("meta"):
        state = resnet2d_50().state_dict()
    assert tuple(state["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    assert tuple(state["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(state["layer2.0.conv2.weight"].shape) == (128, 128, 3, 3)  # V1.5: stride on the 3x3


def test_imagenet_cfgs():
    cfg = IMAGENET_CFGS["resnet2d_50"]["imagenet"]
    assert cfg.url == "https://download.pytorch.org/models/resnet50-0676ba61.pth" and cfg.sha256 == "0676ba61"
    assert cfg.mean == (0.485, 0.456, 0.406) and cfg.std == (0.229, 0.224, 0.225) and cfg.num_classes == 1000
    assert IMAGENET_CFGS["resnet2d_50"]["imagenet_v2"].file_name == "resnet50-11ad3fa6.pth"
    assert IMAGENET_CFGS["resnet2d_18"]["imagenet"].file_name == "resnet18-f37072fd.pth"
    assert IMAGENET_CFGS["resnet2d_152"]["imagenet"].file_name == "resnet152-394f9c45.pth"


def test_head_interface():
    model = resnet2d_18(num_classes=10).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape == (2, 512, 2, 2)
        assert torch.allclose(model.forward_head(features), model(x))
        assert model.forward_head(features, pre_logits=True).shape == (2, 512)
    model.reset_classifier(0)
    assert model(x).shape == (2, 512)


def test_flow_stem_uses_cross_modality_init(tmp_path):
    rgb = resnet2d_18()
    torch.save(rgb.state_dict(), tmp_path / "rgb.pth")
    flow = resnet2d_18(num_classes=101, in_chans=20, pretrained=tmp_path / "rgb.pth")  # 10 stacked (dx, dy) pairs
    assert flow.conv1.weight.shape == (64, 20, 7, 7)
    expected = rgb.conv1.weight.mean(dim=1, keepdim=True).expand(-1, 20, -1, -1)
    assert torch.allclose(flow.conv1.weight, expected)
    assert torch.equal(flow.layer3[0].conv1.weight, rgb.layer3[0].conv1.weight)
    assert flow.fc.out_features == 101 and flow.cfg.in_chans == 20
    assert flow(torch.randn(1, 20, 64, 64)).shape == (1, 101)
