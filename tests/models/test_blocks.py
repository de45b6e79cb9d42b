"""The one ResNet block family against the blocks it replaced, written here step by step as the
originals were (torchvision's models/video/resnet.py and models/resnet.py, Hara's
3D-ResNets-PyTorch models/resnet.py): same state_dict keys in the same order, the same weights
from the same seed, and bit-identical outputs from the same weights, so files saved before still
load and give the same numbers."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from motionlens.models.blocks import (BasicBlock, Bottleneck, Conv2DSimple, Conv2Plus1D, Conv3DNoTemporal,
                                      Conv3DSimple, make_stage, projection_shortcut)
from motionlens.models.hara_resnet import zero_pad_shortcut


class TvVideoBasicBlock(nn.Module):
    """torchvision's video BasicBlock: conv and norm nested in Sequentials."""

    def __init__(self, inplanes, planes, conv_builder, stride=1, downsample=None):
        super().__init__()
        midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
        self.conv1 = nn.Sequential(conv_builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes),
                                   nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        residual = x
        out = self.conv1(x)
        out = self.conv2(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        out += residual
        return self.relu(out)


def tv_video_downsample(conv_builder, inplanes, planes, stride):
    return nn.Sequential(nn.Conv3d(inplanes, planes, kernel_size=1, stride=conv_builder.get_downsample_stride(stride),
                                   bias=False), nn.BatchNorm3d(planes))


class FlatBasicBlock(nn.Module):
    """torchvision's 2D BasicBlock and Hara's 3D one (conv3x3 or conv3x3x3, BatchNorm2d or 3d)."""

    def __init__(self, dims, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
        self.conv1 = conv(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class FlatBottleneck(nn.Module):
    """torchvision's 2D Bottleneck (V1.5, stride on the 3x3) and Hara's 3D one."""

    def __init__(self, dims, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
        self.conv1 = conv(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = norm(planes)
        self.conv2 = conv(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = norm(planes)
        self.conv3 = conv(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = norm(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


def flat_downsample(dims, inplanes, outplanes, stride):
    conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
    return nn.Sequential(conv(inplanes, outplanes, kernel_size=1, stride=stride, bias=False), norm(outplanes))


class HaraShortcutA(nn.Module):
    """Hara's downsample_basic_block: avg_pool3d(kernel 1, stride), then zero channels appended."""

    def __init__(self, planes, stride):
        super().__init__()
        self.planes, self.stride = planes, stride

    def forward(self, x):
        out = F.avg_pool3d(x, kernel_size=1, stride=self.stride)
        zeros = torch.zeros(out.size(0), self.planes - out.size(1), *out.shape[2:], dtype=out.dtype)
        return torch.cat([out, zeros], dim=1)


def case(name):
    """(reference block, our block), each built from seed 0 as its model builds it, and an input."""
    x3, x2 = torch.randn(2, 8, 4, 10, 10), torch.randn(2, 8, 10, 10)
    builders = {"r3d": Conv3DSimple, "mc3": Conv3DNoTemporal, "r2plus1d": Conv2Plus1D}
    if name in builders:
        conv = builders[name]
        torch.manual_seed(0)
        ref = TvVideoBasicBlock(8, 16, conv, 2, tv_video_downsample(conv, 8, 16, 2))
        torch.manual_seed(0)
        ours = BasicBlock(8, 16, conv, 2, projection_shortcut(conv, 8, 16, 2), nested_norm=True)
        return ref, ours, x3
    dims = 2 if name.startswith("2d") else 3
    conv = Conv2DSimple if dims == 2 else Conv3DSimple
    basic = "basic" in name
    planes, out = (16, 16) if basic else (4, 16)
    torch.manual_seed(0)
    if name == "hara_basic_A":
        ref_down, our_down = HaraShortcutA(out, 2), zero_pad_shortcut(conv, 8, out, 2)
    else:
        ref_down = flat_downsample(dims, 8, out, 2)
    ref = (FlatBasicBlock if basic else FlatBottleneck)(dims, 8, planes, 2, ref_down)
    torch.manual_seed(0)
    if name != "hara_basic_A":
        our_down = projection_shortcut(conv, 8, out, 2)
    ours = (BasicBlock if basic else Bottleneck)(8, planes, conv, 2, our_down)
    return ref, ours, x2 if dims == 2 else x3


CASES = ["r3d", "mc3", "r2plus1d", "2d_basic", "2d_bottleneck", "hara_basic_A", "hara_basic_B", "hara_bottleneck_B"]


@pytest.mark.parametrize("name", CASES)
def test_block_matches_the_original_step_by_step(name):
    ref, ours, x = case(name)
    ref_state, our_state = ref.state_dict(), ours.state_dict()
    assert list(our_state) == list(ref_state)  # same keys, same order
    for key in ref_state:  # same construction order: the same weights from the same seed
        assert torch.equal(our_state[key], ref_state[key]), key
    with torch.no_grad():  # statistics that matter, so a swapped norm shows
        for module in ref.modules():
            if isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    ours.load_state_dict(ref.state_dict(), strict=True)  # a file saved from the original loads
    for train in (False, True):
        ref.train(train)
        ours.train(train)
        with torch.no_grad():
            expected, got = ref(x.clone()), ours(x.clone())
        assert got.shape == expected.shape and torch.equal(got, expected), (name, train)


def test_mc3_shortcut_never_subsamples_time():
    stage = make_stage(BasicBlock, Conv3DNoTemporal, 64, 128, 2, stride=2, nested_norm=True)
    assert stage[0].downsample[0].stride == (1, 2, 2) and stage[1].downsample is None
    assert stage(torch.randn(1, 64, 4, 8, 8)).shape == (1, 128, 4, 4, 4)


def test_make_stage_adds_a_shortcut_only_where_the_shape_changes():
    same = make_stage(Bottleneck, Conv2DSimple, 256, 64, 3)
    assert [b.downsample is None for b in same] == [True, True, True]
    wider = make_stage(Bottleneck, Conv2DSimple, 64, 64, 3)  # 64 -> 256 channels at stride 1
    assert wider[0].downsample[0].weight.shape == (256, 64, 1, 1) and wider[0].downsample[0].stride == (1, 1)
    assert wider(torch.randn(1, 64, 8, 8)).shape == (1, 256, 8, 8)
