"""Weights: unwrapping checkpoints, readable key reports, head replacement, cached downloads."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model, load_state_dict_file, load_weights
from motionlens.models.weights import extract_state_dict


@pytest.fixture(scope="module")
def small_state():
    torch.manual_seed(5)
    return create_model("cnn3d_small").state_dict()


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"module." + k: v for k, v in sd.items()},  # DataParallel
        lambda sd: {"model_state": sd, "optimizer_state": {}, "epoch": 3},  # PyTorchVideo
        lambda sd: {"state_dict": {"model." + k: v for k, v in sd.items()}, "epoch": 1},  # Lightning
        lambda sd: {"model": sd, "config": {"model": {"name": "cnn3d_small"}}, "epoch": 4},  # motionlens
        lambda sd: {"arch": "resnet-34", "state_dict": {"module." + k: v for k, v in sd.items()}},  # Hara
    ],
    ids=["plain", "dataparallel", "pytorchvideo", "lightning", "motionlens", "hara"],
)
def test_checkpoint_wrappers_unwrap_to_the_same_state_dict(wrap, small_state):
    unwrapped = extract_state_dict(wrap(small_state))
    assert list(unwrapped) == list(small_state)
    assert all(torch.equal(unwrapped[k], small_state[k]) for k in small_state)


def test_no_state_dict_is_a_clear_error():
    with pytest.raises(MotionlensError, match=r"no state_dict found.*epoch"):
        extract_state_dict({"epoch": 3, "notes": "nothing here"})


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".safetensors"])
def test_files_round_trip(tmp_path, small_state, suffix):
    path = tmp_path / f"weights{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in small_state.items()}, str(path))
    else:
        torch.save({"model": small_state, "config": {"lr": 0.1}}, path)
    model = create_model("cnn3d_small")
    result = load_weights(model, path)
    assert result.missing_keys == [] and not result.head_reset
    assert all(torch.equal(model.state_dict()[k], v) for k, v in small_state.items())
    assert set(load_state_dict_file(path)) == set(small_state)  # safetensors sorts its keys


def test_missing_file_and_unsafe_pickles_are_refused(tmp_path, small_state):
    with pytest.raises(MotionlensError, match="weights file not found"):
        load_state_dict_file(tmp_path / "nope.pth")
    path = tmp_path / "unsafe.pth"
    torch.save({"state_dict": small_state, "extra": Path("/tmp")}, path)  # a class weights_only refuses
    with pytest.raises(MotionlensError, match="refused to unpickle it safely"):
        load_state_dict_file(path)


def test_key_mismatch_report_names_the_keys(small_state):
    state = dict(small_state)
    del state["stem.0.weight"]
    state["extra.weight"] = torch.zeros(3)
    state["block1.0.weight"] = torch.zeros(1, 2, 3, 3, 3)
    with pytest.raises(MotionlensError) as excinfo:
        load_weights(create_model("cnn3d_small"), state)
    message = str(excinfo.value)
    assert "1 missing key(s) [stem.0.weight]" in message
    assert "1 unexpected key(s) [extra.weight]" in message
    assert "block1.0.weight: file [1, 2, 3, 3, 3] vs model [32, 16, 3, 3, 3]" in message
    assert "\n" not in message and "cnn3d_small" in message


def test_non_strict_loads_what_fits(small_state):
    state = {k: v for k, v in small_state.items() if not k.startswith("block4.")}
    model = create_model("cnn3d_small")
    result = load_weights(model, state, strict=False)
    assert result.missing_keys and all(k.startswith("block4.") for k in result.missing_keys)
    assert torch.equal(model.stem[0].weight, small_state["stem.0.weight"])


def test_other_class_count_loads_all_but_the_head(small_state):
    model = create_model("cnn3d_small", num_classes=5)
    result = load_weights(model, small_state)
    assert result.head_reset and result.missing_keys == []
    assert model.fc.out_features == 5
    assert torch.equal(model.block3[0].weight, small_state["block3.0.weight"])


def test_pretrained_path_keeps_a_finetuned_head_unless_asked(tmp_path):
    source = create_model("cnn3d_small", num_classes=2).eval()
    torch.save({"model": source.state_dict(), "config": {}}, tmp_path / "violence.pth")
    x = torch.randn(1, 3, 8, 64, 64)
    model = create_model("cnn3d_small", pretrained=tmp_path / "violence.pth").eval()
    with torch.no_grad():
        assert model.num_classes == 2 and torch.allclose(model(x), source(x), atol=1e-6)
    model = create_model("cnn3d_small", pretrained=str(tmp_path / "violence.pth"), num_classes=3)
    assert model.fc.out_features == 3 and model.cfg.num_classes == 3
    assert torch.equal(model.block1[0].weight, source.block1[0].weight)


def test_pretrained_tag_uses_the_cached_file_without_network(hub_dir, no_download):
    torch.manual_seed(1)
    source = create_model("x3d_xs").eval()
    # PyTorchVideo's checkpoints wrap the weights in "model_state".
    torch.save({"model_state": source.state_dict(), "epoch": 300}, hub_dir / "X3D_XS.pyth")
    model = create_model("x3d_xs", pretrained="kinetics400").eval()
    x = torch.randn(1, 3, 4, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), source(x), atol=1e-5)
    assert no_download == []
    assert model.cfg.tag == "kinetics400" and len(model.cfg.label_names) == 400
    tuned = create_model("x3d_xs", pretrained="kinetics400", num_classes=10)
    assert tuned.get_classifier().out_features == 10 and tuned.cfg.label_names == ()
    assert torch.equal(
        tuned.blocks[3].res_blocks[0].branch2.conv_b.weight, source.blocks[3].res_blocks[0].branch2.conv_b.weight
    )


def test_offline_download_names_url_and_target_path(hub_dir, no_download):
    with pytest.raises(MotionlensError) as excinfo:
        create_model("r3d_18", pretrained="kinetics400")
    message = str(excinfo.value)
    target = hub_dir / "r3d_18-b3b3357e.pth"
    assert "https://download.pytorch.org/models/r3d_18-b3b3357e.pth" in message
    assert str(target) in message and "\n" not in message
    assert no_download == [
        {
            "url": "https://download.pytorch.org/models/r3d_18-b3b3357e.pth",
            "dst": str(target),
            "hash_prefix": "b3b3357e",
        }
    ]
    assert not target.exists()


def test_bad_hash_is_reported(hub_dir, monkeypatch):
    def corrupt(url, dst, hash_prefix=None, progress=True):
        raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "0000")')

    monkeypatch.setattr(torch.hub, "download_url_to_file", corrupt)
    with pytest.raises(MotionlensError, match=r"sha256 does not start with a90a0ba3"):
        create_model("mc3_18", pretrained="kinetics400")


def test_unknown_pretrained_lists_tags():
    with pytest.raises(MotionlensError, match=r"neither a weights tag of r3d_18 \(tags: kinetics400\)"):
        create_model("r3d_18", pretrained="imagenet")


def test_url_error_is_wrapped(hub_dir, monkeypatch):
    def offline(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(MotionlensError, match="Temporary failure in name resolution"):
        create_model("mc3_18", pretrained=True)


def test_bare_files_get_the_contract_of_the_weights_they_match(tmp_path, caplog):
    c3d = tmp_path / "c3d.pickle"
    torch.save(create_model("c3d", num_classes=487).state_dict(), c3d)  # the port's Sports-1M head
    cfg = create_model("c3d", pretrained=str(c3d)).cfg
    assert (cfg.tag, cfg.num_classes, cfg.input_scale, cfg.mean, cfg.resize) == ("sports1m", 487, 255.0, (0.0,) * 3, (112, 200))
    hara = tmp_path / "r3d18_K_200ep.pth"
    torch.save({"state_dict": create_model("resnet3d_18").state_dict()}, hara)
    cfg = create_model("resnet3d_18", pretrained=str(hara)).cfg
    assert cfg.tag == "kinetics" and cfg.mean == (114.7748, 107.7354, 99.4750) and cfg.antialias
    finetuned = tmp_path / "r3d_2.pth"
    torch.save(create_model("r3d_18", num_classes=2).state_dict(), finetuned)
    with caplog.at_level("WARNING"):
        cfg = create_model("r3d_18", pretrained=str(finetuned)).cfg
    assert cfg.frame_rate == 15.0 and cfg.num_classes == 2 and "assuming their input contract" in caplog.text


def test_bare_file_of_a_model_without_weights_warns(tmp_path, caplog):
    path = tmp_path / "small.pth"
    torch.save(create_model("cnn3d_small", num_classes=3).state_dict(), path)
    with caplog.at_level("WARNING"):
        cfg = create_model("cnn3d_small", pretrained=str(path)).cfg
    assert "carries no input contract" in caplog.text and cfg.num_classes == 3 and cfg.file_name == "small.pth"


def test_training_checkpoints_carry_their_pipeline(tmp_path):
    pipeline = {"clip_len": 8, "frame_stride": 2, "target_fps": 10.0, "resize": [64, 80], "crop_size": 56,
                "mean": [0.5] * 3, "std": [0.2] * 3, "modality": "rgb", "antialias": True}
    path = tmp_path / "best.pt"
    torch.save({"model": create_model("cnn3d_small", num_classes=2).state_dict(), "pipeline": pipeline,
                "classes": ["x", "y"]}, path)
    cfg = create_model("cnn3d_small", pretrained=str(path)).cfg
    assert (cfg.frame_rate, cfg.clip_len, cfg.resize, cfg.antialias, cfg.label_names) == (10.0, 8, (64, 80), True, ("x", "y"))


def test_file_only_weights_tag_explains_how_to_load_them():
    with pytest.raises(MotionlensError, match="no download URL.*pass its path"):
        create_model("resnet3d_18", pretrained="kinetics")
