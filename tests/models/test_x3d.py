"""X3D-XS: PyTorchVideo's key layout, size, compute and CPU latency."""

from __future__ import annotations

import pytest
import torch

from motionlens.models import create_model
from motionlens.models.profile import model_summary


@pytest.fixture(scope="module")
def x3d():
    torch.manual_seed(0)
    return create_model("x3d_xs").eval()


def test_pytorchvideo_keys_and_shapes(x3d):
    state = x3d.state_dict()
    shapes = {
        "blocks.0.conv.conv_t.weight": (24, 3, 1, 3, 3),
        "blocks.0.conv.conv_xy.weight": (24, 1, 5, 1, 1),
        "blocks.1.res_blocks.0.branch1_conv.weight": (24, 24, 1, 1, 1),
        "blocks.1.res_blocks.0.branch2.conv_b.weight": (54, 1, 3, 3, 3),
        "blocks.1.res_blocks.0.branch2.norm_b.1.block.0.weight": (8, 54, 1, 1, 1),
        "blocks.2.res_blocks.0.branch1_norm.weight": (48,),
        "blocks.4.res_blocks.0.branch2.norm_b.1.block.2.weight": (432, 32, 1, 1, 1),
        "blocks.5.pool.pre_conv.weight": (432, 192, 1, 1, 1),
        "blocks.5.pool.post_conv.weight": (2048, 432, 1, 1, 1),
        "blocks.5.proj.weight": (400, 2048),
    }
    assert {k: tuple(state[k].shape) for k in shapes} == shapes
    assert "blocks.1.res_blocks.0.branch1_norm.weight" not in state  # same width: no shortcut norm
    assert "blocks.1.res_blocks.1.branch2.norm_b.1.block.0.weight" not in state  # SE every other block
    assert [len(x3d.blocks[i].res_blocks) for i in range(1, 5)] == [3, 5, 11, 7]


def test_size_and_compute_match_the_paper():
    summary = model_summary("x3d_xs")
    assert summary["params_m"] == pytest.approx(3.79, abs=0.01)  # PyTorchVideo: 3.79M
    # X3D paper: 0.6 GFLOPs (multiply-adds) at 160 px; at the hub's 182 px PyTorchVideo's model zoo
    # lists 0.91 (its counter also counts the head's 2x2 pooled windows and a few non-MAC ops).
    assert summary["gmacs"] == pytest.approx(0.84, abs=0.02)
    assert summary["input"] == (3, 4, 182, 182)

