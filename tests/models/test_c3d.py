"""C3D: eight BN-free 3x3x3 convs, pool5 padding giving fc6 its 8192 inputs, dropout 0.5."""

from __future__ import annotations

import torch
import torch.nn as nn

from motionlens.models import create_model


def test_layers_of_the_paper():
    with torch.device("meta"):
        model = create_model("c3d")
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv3d)]
    assert convs == ["conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"]
    assert all(m.kernel_size == (3, 3, 3) for m in model.modules() if isinstance(m, nn.Conv3d))
    assert not any(isinstance(m, nn.BatchNorm3d) for m in model.modules())
    assert (model.fc6.in_features, model.fc6.out_features, model.fc7.out_features, model.fc8.out_features) == (
        8192,
        4096,
        4096,
        400,
    )
    assert model.pool5.padding == (0, 1, 1) and model.dropout.p == 0.5


def test_pool5_output_at_16x112x112():
    with torch.device("meta"):
        model = create_model("c3d")
        features = model.forward_features(torch.empty(1, 3, 16, 112, 112))
    assert features.shape == (1, 512, 1, 4, 4)  # 512 * 4 * 4 = 8192 = fc6 inputs
