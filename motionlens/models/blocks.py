"""One ResNet block family for every ResNet here, as torchvision's video ResNet has it: `BasicBlock`
and `Bottleneck` take a conv builder, so the same two classes serve the 2D ResNets (`resnet2d`),
R3D/MC3/R(2+1)D (`video_resnet`) and Hara's 3D ResNets (`hara_resnet`).

A conv builder is a class called as `builder(in_planes, out_planes, midplanes, stride)` that
builds a block's 3x3 (or 3x3x3, 1x3x3, (2+1)D) convolution. It also says how its family builds
the rest of a block: `norm_layer` (BatchNorm2d or 3d), `pointwise(in, out, stride)` (the 1x1 or
1x1x1 conv of bottlenecks and projection shortcuts) and `get_downsample_stride(stride)` (what a
projection shortcut strides by: MC3's 2D stages never subsample time).

Module names, and so state_dict keys, are those of the original code of each family: see
`BasicBlock`'s `nested_norm`.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

ConvBuilder = Callable[..., nn.Module]


class _Builds3D:
    norm_layer = nn.BatchNorm3d

    @staticmethod
    def pointwise(in_planes: int, out_planes: int, stride: int | tuple[int, int, int] = 1) -> nn.Conv3d:
        return nn.Conv3d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Conv2DSimple(nn.Conv2d):
    """3x3 image convolution (the 2D ResNets)."""

    norm_layer = nn.BatchNorm2d

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ):
        super().__init__(in_planes, out_planes, kernel_size=3, stride=stride, padding=padding, bias=False)

    @staticmethod
    def pointwise(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
        return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> int:
        return stride


class Conv3DSimple(_Builds3D, nn.Conv3d):
    """Full 3x3x3 convolution (R3D, Hara's 3D ResNets)."""

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ):
        super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=padding, bias=False)

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


class Conv3DNoTemporal(_Builds3D, nn.Conv3d):
    """1x3x3 convolution: a 2D conv per frame (MC3's upper stages)."""

    def __init__(
        self, in_planes: int, out_planes: int, midplanes: int | None = None, stride: int = 1, padding: int = 1
    ):
        super().__init__(
            in_planes,
            out_planes,
            kernel_size=(1, 3, 3),
            stride=(1, stride, stride),
            padding=(0, padding, padding),
            bias=False,
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return 1, stride, stride


class Conv2Plus1D(_Builds3D, nn.Sequential):
    """1x3x3 spatial conv -> BN -> ReLU -> 3x1x1 temporal conv (R(2+1)D); keys ``0``, ``1``, ``3``."""

    def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1, padding: int = 1):
        super().__init__(
            nn.Conv3d(
                in_planes,
                midplanes,
                kernel_size=(1, 3, 3),
                stride=(1, stride, stride),
                padding=(0, padding, padding),
                bias=False,
            ),
            nn.BatchNorm3d(midplanes),
            nn.ReLU(inplace=True),
            nn.Conv3d(
                midplanes, out_planes, kernel_size=(3, 1, 1), stride=(stride, 1, 1), padding=(padding, 0, 0), bias=False
            ),
        )

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return stride, stride, stride


def midplanes_of(inplanes: int, planes: int) -> int:
    """(2+1)D midplanes that keep the parameter count of the full 3x3x3 conv they replace (other
    builders ignore them)."""
    return (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)


class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    `downsample` is the shortcut when shapes change (None: identity): a projection
    (`projection_shortcut`) or any module, e.g. Hara's parameter-free shortcut A.
    `nested_norm=True` is torchvision's video layout, each conv in a Sequential with its norm
    (keys ``conv1.0``, ``conv1.1``, ``conv2.0``, ``conv2.1``); False is torchvision's 2D and
    Hara's layout (``conv1``, ``bn1``, ``conv2``, ``bn2``)."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv_builder: ConvBuilder,
        stride: int = 1,
        downsample: nn.Module | None = None,
        nested_norm: bool = False,
    ):
        super().__init__()
        midplanes = midplanes_of(inplanes, planes)
        norm = conv_builder.norm_layer
        self.nested_norm = nested_norm
        if nested_norm:
            self.conv1 = nn.Sequential(
                conv_builder(inplanes, planes, midplanes, stride), norm(planes), nn.ReLU(inplace=True)
            )
            self.conv2 = nn.Sequential(conv_builder(planes, planes, midplanes), norm(planes))
            self.relu = nn.ReLU(inplace=True)
        else:
            self.conv1 = conv_builder(inplanes, planes, midplanes, stride)
            self.bn1 = norm(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv_builder(planes, planes, midplanes)
            self.bn2 = norm(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        if self.nested_norm:
            out = self.conv2(self.conv1(x))
        else:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (the builder's conv, which takes the stride: torchvision's "V1.5"), 1x1
    expand by 4, and a shortcut as `BasicBlock`'s. Keys ``conv1..3``, ``bn1..3``, ``downsample``."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        conv_builder: ConvBuilder,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ):
        super().__init__()
        norm = conv_builder.norm_layer
        self.conv1 = conv_builder.pointwise(inplanes, planes)
        self.bn1 = norm(planes)
        self.conv2 = conv_builder(planes, planes, midplanes_of(inplanes, planes), stride)
        self.bn2 = norm(planes)
        self.conv3 = conv_builder.pointwise(planes, planes * self.expansion)
        self.bn3 = norm(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + residual)


def projection_shortcut(conv_builder: ConvBuilder, inplanes: int, outplanes: int, stride: int) -> nn.Sequential:
    """1x1(x1) conv + norm (keys ``0``, ``1``): torchvision's downsample, Hara's shortcut B."""
    return nn.Sequential(
        conv_builder.pointwise(inplanes, outplanes, conv_builder.get_downsample_stride(stride)),
        conv_builder.norm_layer(outplanes),
    )


def make_stage(
    block: type[BasicBlock] | type[Bottleneck],
    conv_builder: ConvBuilder,
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    shortcut: Callable[[ConvBuilder, int, int, int], nn.Module] = projection_shortcut,
    **block_kwargs,
) -> nn.Sequential:
    """`blocks` blocks of `planes` (output ``planes * block.expansion`` channels); the first takes
    the stride and, when the shape changes, `shortcut(conv_builder, inplanes, out_channels, stride)`."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = shortcut(conv_builder, inplanes, planes * block.expansion, stride)
    layers = [block(inplanes, planes, conv_builder, stride, downsample, **block_kwargs)]
    layers += [block(planes * block.expansion, planes, conv_builder, **block_kwargs) for _ in range(1, blocks)]
    return nn.Sequential(*layers)
