"""Hara's 3D ResNets: release key names, checkpoint loading, shortcut types, fine-tuning from layer4."""

from __future__ import annotations

import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.models import (
    HARA_ACTIVITYNET_MEAN,
    HARA_KINETICS_MEAN,
    create_model,
    freeze,
    get_model_cfg,
    load_hara_checkpoint,
)


def _release_checkpoint(model, arch):
    # What 3D-ResNets-PyTorch saved: DataParallel-prefixed keys plus training state.
    state = {"module." + k: v.clone() for k, v in model.state_dict().items()}
    return {"epoch": 200, "arch": arch, "state_dict": state, "optimizer": {"state": {}, "param_groups": []}}


@pytest.fixture(scope="module")
def r34_file(tmp_path_factory):
    """A release-style resnet-34 (shortcut A) checkpoint, a probe clip and the source model's logits."""
    torch.manual_seed(3)
    source = create_model("resnet3d_34", shortcut_type="A").eval()
    path = tmp_path_factory.mktemp("hara") / "resnet-34-kinetics.pth"
    torch.save(_release_checkpoint(source, "resnet-34"), path)
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        logits = source(x)
    return path, x, logits, source.layer3[0].conv1.weight.detach().clone()


def _meta(name, **kwargs):
    # Shapes and keys only: no memory, no initialisation cost.
    with torch.device("meta"):
        return create_model(name, **kwargs)


def test_release_key_names():
    state = _meta("resnet3d_34", shortcut_type="A").state_dict()
    assert tuple(state["conv1.weight"].shape) == (64, 3, 7, 7, 7)
    assert "bn1.running_mean" in state and "layer1.0.conv1.weight" in state and "layer4.2.bn2.weight" in state
    assert tuple(state["fc.weight"].shape) == (400, 512)
    assert not [k for k in state if "downsample" in k]  # shortcut A has no parameters
    b = _meta("resnet3d_34", shortcut_type="B").state_dict()
    assert (
        tuple(b["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1, 1)
        and "layer2.0.downsample.1.running_var" in b
    )
    r50 = _meta("resnet3d_50").state_dict()
    assert tuple(r50["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1, 1)
    assert tuple(r50["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1, 1) and tuple(r50["fc.weight"].shape) == (
        400,
        2048,
    )


def test_stem_and_pooling_follow_the_release():
    model = _meta("resnet3d_18")
    conv = model.conv1
    assert (conv.kernel_size, conv.stride, conv.padding) == ((7, 7, 7), (1, 2, 2), (3, 3, 3))
    assert (model.maxpool.kernel_size, model.maxpool.stride, model.maxpool.padding) == (3, 2, 1)
    assert isinstance(model.avgpool, torch.nn.AdaptiveAvgPool3d)


def test_cfg_is_mean_subtraction_on_0_255_pixels():
    cfg = get_model_cfg("resnet3d_34")
    # The release's code subtracts the ActivityNet mean (its default --mean_dataset), no std.
    assert cfg.input_scale == 255.0 and cfg.mean == HARA_ACTIVITYNET_MEAN and cfg.std == (1.0, 1.0, 1.0)
    assert (cfg.clip_len, cfg.crop_size) == (16, 112)
    assert HARA_KINETICS_MEAN == (110.63666788, 103.16065604, 96.29023126)
    assert HARA_ACTIVITYNET_MEAN == (114.7748, 107.7354, 99.4750)


def test_shortcut_a_pads_channels_and_keeps_gradient():
    model = create_model("resnet3d_10", shortcut_type="A")
    shortcut = model.layer2[0].downsample
    x = torch.randn(1, 64, 4, 8, 8, requires_grad=True)
    out = shortcut(x)
    assert out.shape == (1, 128, 2, 4, 4)
    assert torch.equal(out[:, :64], x[:, :, ::2, ::2, ::2]) and not out[:, 64:].any()
    out.sum().backward()
    assert x.grad.abs().sum() > 0


def test_adaptive_pooling_accepts_other_clip_sizes():
    model = create_model("resnet3d_10", num_classes=5).eval()
    with torch.no_grad():
        for shape in [(1, 3, 16, 112, 112), (1, 3, 8, 80, 96)]:
            assert model(torch.randn(*shape)).shape == (1, 5)


def test_release_checkpoint_round_trip(r34_file):
    path, x, logits, _ = r34_file
    target = create_model("resnet3d_34", shortcut_type="A").eval()
    load_hara_checkpoint(path, model=target)
    with torch.no_grad():
        assert torch.allclose(target(x), logits, atol=1e-5)


def test_checkpoint_builds_its_own_model(r34_file):
    path, x, logits, _ = r34_file
    model = load_hara_checkpoint(path).eval()
    assert model.cfg.name == "resnet3d_34" and model.shortcut_type == "A"
    with torch.no_grad():
        assert torch.allclose(model(x), logits, atol=1e-5)


def test_wrong_arch_is_refused(r34_file):
    path = r34_file[0]
    with pytest.raises(MotionlensError, match=r"'resnet-34'.*'resnet-18'"):
        load_hara_checkpoint(path, model=_meta("resnet3d_18"))


def test_wrong_shortcut_type_reports_keys(r34_file):
    path = r34_file[0]
    with pytest.raises(MotionlensError, match=r"missing key\(s\) \[layer2\.0\.downsample\.0\.weight"):
        load_hara_checkpoint(path, model=_meta("resnet3d_34", shortcut_type="B"))


def test_newer_unprefixed_and_pre_1_0_files_load(tmp_path):
    source = create_model("resnet3d_10", num_classes=101).eval()
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "r3d10_K_200ep.pth")
    model = load_hara_checkpoint(tmp_path / "r3d10_K_200ep.pth", model=create_model("resnet3d_10")).eval()
    assert model.num_classes == 101  # the checkpoint's head decides
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), source(x), atol=1e-5)


def test_create_model_reads_release_files_and_resets_head(r34_file):
    path, _, _, layer3_weight = r34_file
    model = create_model("resnet3d_34", pretrained=path, num_classes=2).eval()
    assert model.fc.out_features == 2 and model.cfg.num_classes == 2
    assert torch.equal(model.layer3[0].conv1.weight, layer3_weight)


def test_violence_recipe_finetunes_layer4_and_fc_only():
    model = create_model("resnet3d_34", shortcut_type="A", num_classes=2)
    freeze(model, finetune_from="layer4")
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n.split(".")[0] for n, p in model.named_parameters() if not p.requires_grad}
    assert trainable == {"layer4", "fc"} and frozen == {"conv1", "bn1", "layer1", "layer2", "layer3"}

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    stats_before = model.layer3[0].bn1.running_mean.clone()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(torch.randn(2, 3, 4, 32, 32)), torch.tensor([0, 1]))
    loss.backward()
    optimizer.step()
    changed = {n.split(".")[0] for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed == {"layer4", "fc"}
    assert torch.equal(model.layer3[0].bn1.running_mean, stats_before)  # frozen stages keep their BN statistics
    assert model.layer4[0].bn1.training
