"""R3D/MC3/R(2+1)D: torchvision's exact keys, shapes, parameter counts and compute."""

from __future__ import annotations

import pytest
import torch

from motionlens.models import create_model, get_model_cfg, get_weights
from motionlens.models.profile import model_summary


def test_r3d_18_state_dict_matches_torchvision_layout():
    state = create_model("r3d_18").state_dict()
    keys = list(state)
    assert len(keys) == 122  # includes BN running stats and num_batches_tracked
    assert keys[0] == "stem.0.weight" and tuple(state["stem.0.weight"].shape) == (64, 3, 3, 7, 7)
    assert keys[-2:] == ["fc.weight", "fc.bias"] and tuple(state["fc.weight"].shape) == (400, 512)
    downsample = sorted({k.rsplit(".", 1)[0] for k in keys if ".downsample." in k})
    assert downsample == [f"layer{i}.0.downsample.{j}" for i in (2, 3, 4) for j in (0, 1)]
    assert "layer1.0.conv1.0.weight" in state and "layer1.0.conv2.1.running_var" in state


def test_r2plus1d_18_factorised_convs_and_midplanes():
    state = create_model("r2plus1d_18").state_dict()
    assert tuple(state["stem.0.weight"].shape) == (45, 3, 1, 7, 7)
    assert tuple(state["stem.3.weight"].shape) == (64, 45, 3, 1, 1)
    nested = [k for k in state if k.startswith("layer1.0.conv1.0.")]
    assert {k.split(".")[4] for k in nested} == {"0", "1", "3"}
    for key, (cin, cout) in {
        "layer1.0.conv1.0": (64, 64),
        "layer2.0.conv1.0": (64, 128),
        "layer2.0.conv2.0": (64, 128),
    }.items():
        midplanes = (cin * cout * 27) // (cin * 9 + 3 * cout)  # 144, 230, 230
        assert tuple(state[f"{key}.0.weight"].shape) == (midplanes, cin if key.endswith("conv1.0") else cout, 1, 3, 3)
        assert tuple(state[f"{key}.3.weight"].shape) == (cout, midplanes, 3, 1, 1)


def test_mc3_18_is_3d_in_layer1_and_2d_above():
    model = create_model("mc3_18")
    assert model.layer1[0].conv1[0].kernel_size == (3, 3, 3)
    for layer in (model.layer2, model.layer3, model.layer4):
        assert all(
            block.conv1[0].kernel_size == (1, 3, 3) and block.conv2[0].kernel_size == (1, 3, 3) for block in layer
        )
        assert layer[0].downsample[0].stride == (1, 2, 2)  # time is never subsampled
    assert len(model.state_dict()) == 122


@pytest.mark.parametrize(
    "name, params, gmacs",
    # torchvision's published figures for these architectures (num_params, GFLOPS at 16x112x112).
    [("r3d_18", 33_371_472, 40.697), ("mc3_18", 11_695_440, 43.343), ("r2plus1d_18", 31_505_325, 40.519)],
)
def test_parameter_count_and_compute_match_torchvision(name, params, gmacs):
    summary = model_summary(name)
    assert round(summary["params_m"] * 1e6) == params
    assert summary["gmacs"] == pytest.approx(gmacs, abs=1e-3)


def test_kinetics_weights_cfg():
    cfg = get_model_cfg("r3d_18")
    assert cfg.tag == "kinetics400" and set(get_weights("r3d_18")) == {"kinetics400"}
    assert cfg.url == "https://download.pytorch.org/models/r3d_18-b3b3357e.pth"
    assert cfg.sha256 == "b3b3357e" and cfg.file_name == "r3d_18-b3b3357e.pth"
    assert cfg.mean == (0.43216, 0.394666, 0.37645) and cfg.std == (0.22803, 0.22145, 0.216989)
    assert (cfg.resize, cfg.crop_size, cfg.clip_len, cfg.frame_stride, cfg.input_scale) == ((128, 171), 112, 16, 1, 1.0)
    assert len(cfg.label_names) == 400 and cfg.label_names[0] == "abseiling"
    assert get_model_cfg("mc3_18").sha256 == "a90a0ba3" and get_model_cfg("r2plus1d_18").sha256 == "91a641e6"


def test_temporal_downsampling_of_r3d():
    model = create_model("r3d_18").eval()
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, 3, 16, 64, 64))
    assert features.shape == (1, 512, 2, 4, 4)
