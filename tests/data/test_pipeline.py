"""From a weights contract to what training, evaluation and predict feed (motionlens/data/pipeline.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from motionlens import clip_input
from motionlens.config import DataConfig, TrainConfig, fill_recipe, resolve, save_yaml
from motionlens.data.pipeline import Pipeline, make_dataset, resolve_pipeline, resolved_data
from motionlens.deploy.predict import load_predictor
from motionlens.core.errors import ConfigError
from motionlens.models import create_model, get_model_cfg, get_weights
from motionlens.training.train import build_model


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
    cfg = fill_recipe(resolve(TrainConfig, None, {"data": {"data": f"folder:{root}", "num_workers": 0,
                                                           "eval_clips": 1},
                                                  "model": {"name": "r3d_18", "pretrained": "kinetics400"}}))
    model = build_model(cfg, num_classes=2)
    pipe = resolve_pipeline(cfg.data, model.cfg)
    assert (pipe.target_fps, pipe.clip_len, pipe.resize, pipe.crop_size) == (15.0, 16, (128, 171), 112)
    assert (pipe.antialias, pipe.round_resized, pipe.decoder_resize) == (False, True, False)

    saved = yaml.safe_load(save_yaml(TrainConfig(data=resolved_data(cfg.data, pipe)), tmp_path / "config.yaml").read_text())
    assert saved["data"]["target_fps"] == 15.0 and saved["data"]["resize"] == [128, 171]
    assert saved["data"]["clip_len"] == 16 and saved["data"]["crop_size"] == 112
    # A resumed run (reading that config back) resolves the same pipeline.
    assert resolve_pipeline(resolve(TrainConfig, None, saved).data, model.cfg) == pipe

    from motionlens.data.index import build_index

    index = build_index(f"folder:{root}")
    sample = make_dataset(index, pipe, train=False, data=cfg.data)[0]["video"][0]  # (C, T, H, W)
    assert sample.shape == (3, 16, 112, 112)
    predictor = load_predictor("r3d_18", pretrained="kinetics400", device="cpu")
    assert predictor.pipeline == resolve_pipeline(DataConfig(), model.cfg)
    assert clip_input(index[0].path, model, 0.0).shape == sample.shape


def test_native_rate_is_a_choice_written_in_the_config():
    cfg = get_model_cfg("r3d_18")
    pipe = resolve_pipeline(DataConfig(target_fps="native"), cfg)
    assert pipe.target_fps is None
    assert resolved_data(DataConfig(target_fps="native"), pipe).target_fps == "native"
    with pytest.raises(ConfigError, match="target_fps"):
        resolve_pipeline(DataConfig(target_fps="fast"), cfg)


def test_decoder_resize_only_where_the_contract_allows_it():
    with pytest.raises(ConfigError, match="decoder_resize"):
        resolve_pipeline(DataConfig(decoder_resize=True), get_model_cfg("r3d_18"))
    assert resolve_pipeline(DataConfig(decoder_resize=True), get_model_cfg("cnn3d_small")).decoder_resize


def test_x3d_clip_seconds_survive_a_saved_config_but_not_a_changed_timing():
    cfg = get_model_cfg("x3d_xs")
    pipe = resolve_pipeline(DataConfig(), cfg)
    assert pipe.clip_seconds == pytest.approx(1.6) and pipe.target_fps is None
    assert resolve_pipeline(resolved_data(DataConfig(), pipe), cfg) == pipe
    assert resolve_pipeline(DataConfig(frame_stride=6), cfg).clip_seconds is None


def test_old_checkpoint_pipelines_still_load():
    old = {"clip_len": 8, "frame_stride": 1, "target_fps": None, "resize": [64, 80], "crop_size": 56,
           "mean": [0.5] * 3, "std": [0.2] * 3, "modality": "rgb"}
    pipe = Pipeline.from_dict(old)
    assert pipe.resize == (64, 80) and pipe.antialias is False and pipe.clip_seconds is None


def _epoch(loader, epoch: int) -> tuple[list[int], torch.Tensor]:
    loader.sampler.set_epoch(epoch)
    batches = list(loader)
    return [int(i) for b in batches for i in b["video_index"]], torch.cat([b["video"] for b in batches])


def test_an_epoch_is_the_same_with_any_workers_and_after_a_restart(make_video, tmp_path):
    """Each sample's clip and augmentation come from (seed, epoch, video): workers can live across
    epochs, the worker count changes nothing, and a fresh loader (a resumed run) repeats an epoch."""
    from motionlens.data.index import build_index
    from motionlens.data.pipeline import EpochSampler, make_loader

    root = tmp_path / "data"
    for i in range(6):
        (root / "ab"[i % 2]).mkdir(parents=True, exist_ok=True)
        make_video(f"v{i}.mp4", num_frames=20 + 3 * i, size=(40, 48), seed=i).rename(root / "ab"[i % 2] / f"v{i}.mp4")
    data = DataConfig(batch_size=2, train_sampler="random", hflip=True)
    pipe = Pipeline(clip_len=4, frame_stride=1, target_fps=None, resize=(36, 44), crop_size=32,
                    mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    dataset = make_dataset(build_index(f"folder:{root}"), pipe, train=True, data=data, seed=3)
    persistent = make_loader(dataset, 2, True, 2, seed=3)
    assert persistent.persistent_workers
    order0, clips0 = _epoch(persistent, 0)
    order1, clips1 = _epoch(persistent, 1)
    assert sorted(order0) == sorted(order1) == list(range(6)) and order0 != order1  # reshuffled each epoch
    for workers in (0, 1):
        fresh = make_loader(dataset, 2, True, workers, seed=3)
        assert _epoch(fresh, 1)[0] == order1 and torch.equal(_epoch(fresh, 1)[1], clips1)
    by_video = {i: clips0[k] for k, i in enumerate(order0)}
    assert any(not torch.equal(by_video[i], clips1[order1.index(i)]) for i in range(6))  # new draws each epoch
    state = torch.get_rng_state()
    dataset[(0, 123)]
    assert torch.equal(torch.get_rng_state(), state)  # a seeded sample leaves the process's RNG alone

    # DDP: rank shards cover every video, padded with repeats to equal length, as DistributedSampler.
    shards = [list(EpochSampler(5, shuffle=True, seed=3, rank=r, world_size=2)) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) == 3
    assert sorted({i for s in shards for i, _ in s}) == list(range(5))
    seeds = {i: s for shard in shards for i, s in shard}
    assert seeds == {i: s for i, s in EpochSampler(5, shuffle=True, seed=3)}  # a video's seed is its own
