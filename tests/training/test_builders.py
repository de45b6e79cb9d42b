"""What a run is made of (motionlens/training/builders.py); the schedule's step counting is in
test_train.py (test_lr_schedule_counts_optimizer_steps_not_batches)."""

import torch

from motionlens.config import DataConfig, ModelConfig, OptimConfig, TrainConfig
from motionlens.training.builders import build_model, build_optimizer, model_options


def test_the_input_channels_follow_the_modality_the_config_or_its_recipe_names():
    scratch = TrainConfig(model=ModelConfig(name="cnn3d_small"))  # the scratch recipe: frame differences
    assert build_model(scratch, 3).in_chans == 3
    flow = TrainConfig(data=DataConfig(modality="flow"), model=ModelConfig(name="cnn3d_small"))
    model = build_model(flow, 3)
    assert model.in_chans == 2 and model_options(model, flow) == {"in_chans": 2}
    x = torch.zeros(1, 2, *model.cfg.input_size[1:])  # (B, C, T, H, W)
    assert model(x).shape == (1, 3)


def test_optimizer_by_name():
    model = build_model(TrainConfig(model=ModelConfig(name="cnn3d_small")), 2)
    assert isinstance(build_optimizer(model, OptimConfig(optimizer="sgd", lr=0.1, weight_decay=0.0)), torch.optim.SGD)
    assert isinstance(build_optimizer(model, OptimConfig(optimizer="adamw", lr=0.1, weight_decay=0.0)), torch.optim.AdamW)


def test_every_modality_the_config_allows_has_a_channel_count():
    from motionlens.config import MODALITIES
    from motionlens.data.pipeline import MODALITY_CHANNELS

    assert set(MODALITIES) == set(MODALITY_CHANNELS)
