"""The registry: names, duplicate registration, unknown names, cfgs."""

from __future__ import annotations

import pytest

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model, get_model_cfg, get_weights, list_models, register_model, registry
from motionlens.models.cnn3d_small import SmallCNN3D


@pytest.fixture
def scratch_registry(monkeypatch):
    # Registrations made by a test must not leak into list_models() for the other tests.
    monkeypatch.setattr(registry, "_builders", dict(registry._builders))
    monkeypatch.setattr(registry, "_cfgs", dict(registry._cfgs))


def test_list_models_is_sorted_and_filters():
    names = list_models()
    assert names == sorted(names) and len(names) == len(set(names)) >= 15
    assert list_models("r*_18") == ["r2plus1d_18", "r3d_18", "resnet3d_18"]
    assert list_models("crnn*") == ["crnn", "crnn_resnet152", "crnn_resnet18", "crnn_resnet50"]


def test_registering_a_name_twice_raises(scratch_registry):
    def r3d_18(num_classes: int = 400, **kwargs):
        return SmallCNN3D(num_classes)

    with pytest.raises(ValueError, match="already registered"):
        register_model(r3d_18)


def test_new_builder_is_created_with_its_cfg(scratch_registry):
    def tiny_test_model(num_classes: int = 400, **kwargs):
        return SmallCNN3D(num_classes, widths=(8, 8, 8, 8))

    register_model(tiny_test_model)
    assert "tiny_test_model" in list_models()
    model = create_model("tiny_test_model", num_classes=6)
    assert model.cfg.name == "tiny_test_model" and model.cfg.num_classes == 6 and get_weights("tiny_test_model") == {}


def test_unknown_name_suggests_close_ones():
    with pytest.raises(MotionlensError, match=r"unknown model 'r3d18'.*r3d_18"):
        create_model("r3d18")
    with pytest.raises(MotionlensError, match="unknown model 'x3d_m'"):
        get_model_cfg("x3d_m")


def test_default_cfg_comes_from_default_weights():
    assert get_model_cfg("r3d_18").tag == "kinetics400"
    assert get_model_cfg("cnn3d_small").tag == "" and get_model_cfg("cnn3d_small").url == ""
    x3d = get_model_cfg("x3d_xs")
    assert (x3d.clip_len, x3d.crop_size, x3d.mean) == (4, 182, (0.45, 0.45, 0.45))  # the hub's transform
    assert x3d.input_size == (3, 4, 182, 182)
    assert get_model_cfg("c3d").tag == "" and get_weights("c3d")["sports1m"].num_classes == 487


def test_num_classes_changes_cfg_and_drops_kinetics_names():
    assert len(create_model("mc3_18").cfg.label_names) == 400
    model = create_model("mc3_18", num_classes=51)
    assert model.fc.out_features == 51 and model.cfg.num_classes == 51 and model.cfg.label_names == ()


def test_builder_kwargs_reach_the_model():
    assert create_model("resnet3d_18", shortcut_type="B").layer2[0].downsample is not None
    assert create_model("cnn3d_small", in_chans=2).stem[0].in_channels == 2
    assert create_model("cnn3d_small", in_chans=2).cfg.in_chans == 2
