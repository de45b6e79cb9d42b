"""From a weights contract to what training, evaluation and predict feed (motionlens/data/pipeline.py,
built from motionlens/data/spec.py's InputSpec)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from motionlens import clip_input
from motionlens.config import DataConfig, ModelConfig, TrainConfig, resolve, save_yaml
from motionlens.data.pipeline import make_dataset
from motionlens.data.spec import InputSpec, input_spec, resolve_input
from motionlens.deploy.predict import load_predictor
from motionlens.core.errors import ConfigError
from motionlens.models import create_model, get_model_cfg, get_weights
from motionlens.training.builders import build_model


@pytest.fixture
def kinetics_r3d(tmp_path, monkeypatch):
    """r3d_18's kinetics400 file in a private hub cache (random weights: no download)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    path = Path(torch.hub.get_dir()) / "checkpoints" / get_weights("r3d_18")["kinetics400"].file_name
    path.parent.mkdir(parents=True)
    torch.save(create_model("r3d_18").state_dict(), path)
    return path


def test_finetuning_from_kinetics400_gets_its_contract_and_the_config_shows_it(kinetics_r3d, make_video, tmp_path):
    root = tmp_path / "data"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        make_video(f"{name}.mp4", num_frames=30, size=(48, 64)).rename(root / name / f"{name}.mp4")
    cfg = resolve(TrainConfig, None, {"data": {"dataset": f"folder:{root}", "num_workers": 0, "eval_clips": 1},
                                      "model": {"name": "r3d_18", "pretrained": "kinetics400"}})
    model = build_model(cfg, num_classes=2)
    cfg, pipe = resolve_input(cfg, model.cfg)
    assert (pipe.target_fps, pipe.clip_len, pipe.resize, pipe.crop_size) == (15.0, 16, (128, 171), 112)
    assert (pipe.antialias, pipe.round_resized, pipe.decoder_resize) == (False, True, False)

    saved = yaml.safe_load(save_yaml(cfg, tmp_path / "config.yaml").read_text())
    assert saved["data"]["target_fps"] == 15.0 and saved["data"]["resize"] == [128, 171]
    assert saved["data"]["clip_len"] == 16 and saved["data"]["crop_size"] == 112
    # A resumed run (reading that config back) resolves the same config and spec.
    assert resolve_input(resolve(TrainConfig, None, saved), model.cfg) == (cfg, pipe)

    from motionlens.data.index import build_index

    index = build_index(f"folder:{root}")
    sample = make_dataset(index, pipe, train=False, data=cfg.data)[0]["video"][0]  # (C, T, H, W)
    assert sample.shape == (3, 16, 112, 112)
    predictor = load_predictor("r3d_18", pretrained="kinetics400", device="cpu")
    assert predictor.pipeline == input_spec(DataConfig(), model.cfg)
    assert clip_input(index[0].path, model, 0.0).shape == sample.shape


def test_native_rate_is_a_choice_written_in_the_config():
    cfg = get_model_cfg("r3d_18")
    pipe = input_spec(DataConfig(target_fps="native"), cfg)
    assert pipe.target_fps is None
    assert resolve_input(TrainConfig(data=DataConfig(target_fps="native")), cfg)[0].data.target_fps == "native"
    with pytest.raises(ConfigError, match="target_fps"):
        input_spec(DataConfig(target_fps="fast"), cfg)
    with pytest.raises(ConfigError, match="target_fps"):  # a config says so when it is read
        resolve(TrainConfig, None, {"data": {"target_fps": "fast"}})


def test_decoder_resize_only_where_the_contract_allows_it():
    with pytest.raises(ConfigError, match="decoder_resize"):
        input_spec(DataConfig(decoder_resize=True), get_model_cfg("r3d_18"))
    assert input_spec(DataConfig(decoder_resize=True), get_model_cfg("cnn3d_small")).decoder_resize


def test_x3d_clip_seconds_survive_a_saved_config_but_not_a_changed_timing():
    cfg = get_model_cfg("x3d_xs")
    pipe = input_spec(DataConfig(), cfg)
    assert pipe.clip_seconds == pytest.approx(1.6) and pipe.target_fps is None
    resolved, spec = resolve_input(TrainConfig(DataConfig(modality="rgb"), ModelConfig(name="x3d_xs")), cfg)
    assert spec == pipe and input_spec(resolved.data, cfg) == pipe
    assert input_spec(DataConfig(frame_stride=6), cfg).clip_seconds is None


def test_old_checkpoint_pipelines_still_load():
    old = {"clip_len": 8, "frame_stride": 1, "target_fps": None, "resize": [64, 80], "crop_size": 56,
           "mean": [0.5] * 3, "std": [0.2] * 3, "modality": "rgb"}
    pipe = InputSpec.from_dict(old)
    assert pipe.resize == (64, 80) and pipe.antialias is False and pipe.clip_seconds is None
