import pytest

from motionlens.config import TrainConfig, from_dict, parse_override, resolve, save_yaml, to_dict
from motionlens.core.errors import ConfigError


def test_layers_defaults_recipe_overrides(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("epochs: 3\noptim:\n  lr: 0.05\nmodel:\n  name: c3d\n")
    cfg = resolve(TrainConfig, recipe, parse_override("optim.lr=0.001"), parse_override("data.dataset=folder:/x"))
    assert (cfg.epochs, cfg.optim.lr, cfg.model.name, cfg.data.dataset) == (3, 0.001, "c3d", "folder:/x")
    assert cfg.optim.momentum == 0.9  # untouched default


def test_unknown_key_is_an_error(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("optim:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="unknown config key 'optim.learning_rate'"):
        resolve(TrainConfig, recipe)


def test_wrong_type_is_an_error():
    with pytest.raises(ConfigError, match="epochs: expected int"):
        resolve(TrainConfig, None, parse_override("epochs=many"))
    with pytest.raises(ConfigError, match="optim.amp: expected true or false"):
        resolve(TrainConfig, None, parse_override("optim.amp=3"))


def test_round_trip_through_yaml(tmp_path):
    import yaml

    cfg = resolve(TrainConfig, None, parse_override("model.freeze=[stem, layer1]"))
    path = save_yaml(cfg, tmp_path / "config.yaml")
    assert from_dict(TrainConfig, yaml.safe_load(path.read_text())) == cfg
    assert to_dict(cfg)["model"]["freeze"] == ["stem", "layer1"]


def test_every_recipe_in_configs_is_valid():
    from pathlib import Path

    recipes = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))
    assert len(recipes) >= 5
    for recipe in recipes:
        resolve(TrainConfig, recipe)


def test_recipe_fills_only_what_was_left_unset():
    from motionlens.config import RECIPES, fill_recipe

    scratch = fill_recipe(resolve(TrainConfig, None, parse_override("model.name=cnn3d_small")))
    assert (scratch.optim.optimizer, scratch.optim.lr, scratch.epochs) == ("adamw", 3e-3, RECIPES["scratch"]["epochs"])
    assert (scratch.data.train_sampler, scratch.data.modality, scratch.data.hflip) == ("tsn", "diff", False)
    tuned = fill_recipe(resolve(TrainConfig, None, parse_override("model.pretrained=kinetics400"),
                                parse_override("optim.lr=0.002"), parse_override("data.hflip=false")))
    assert (tuned.optim.optimizer, tuned.optim.lr, tuned.data.hflip, tuned.data.modality) == ("sgd", 0.002, False, "rgb")
    assert fill_recipe(tuned) == tuned  # idempotent: a resolved config (config.yaml) has no None left to fill


def test_a_weights_file_of_a_model_without_published_weights_gets_the_own_weights_recipe():
    from motionlens.config import fill_recipe, recipe_name

    def filled(*overrides):
        return fill_recipe(resolve(TrainConfig, None, *map(parse_override, overrides)))

    own = filled("model.name=cnn3d_small", "model.pretrained=/some/cardinal.pth")
    assert recipe_name(own) == "own_weights"
    # Its input is what training here gave it (frame differences: a stem trained on them expects
    # them), its optimiser the fine-tuning one.
    assert (own.data.train_sampler, own.data.modality, own.data.hflip) == ("tsn", "diff", False)
    assert (own.optim.optimizer, own.optim.lr, own.epochs) == ("sgd", 0.01, 10)
    published = filled("model.name=r3d_18", "model.pretrained=/some/r3d_18_finetuned.pth")
    assert recipe_name(published) == "pretrained"
    assert (published.data.train_sampler, published.data.modality) == ("random", "rgb")


@pytest.mark.parametrize("override, message", [
    ("model.name=r3d18", "model.name: unknown model 'r3d18': did you mean r3d_18"),
    ("data.modality=rgbb", "data.modality: 'rgbb' is not one of rgb, diff, rgb_diff, flow, rgb\\+flow"),
    ("data.train_sampler=dense", "data.train_sampler: 'dense' is not one of random, tsn"),
    ("optim.optimizer=adam", "optim.optimizer: 'adam' is not one of sgd, adamw"),
    ("optim.scheduler=linear", "optim.scheduler: 'linear' is not one of cosine, step, constant"),
    ("data.target_fps=fast", "data.target_fps"),
    ("data.eval_crops=2", "data.eval_crops: 1 or 3"),
])
def test_values_outside_their_choices_are_errors_when_the_config_is_read(override, message, tmp_path):
    with pytest.raises(ConfigError, match=message) as err:
        resolve(TrainConfig, None, parse_override(override))
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=message):  # a saved config.yaml too
        from_dict(TrainConfig, parse_override(override))


def test_an_old_run_config_with_data_data_still_reads():
    old = {"data": {"data": "ucf101:/d/UCF101", "eval_clips": 5}, "model": {"name": "r3d_18"}}
    cfg = from_dict(TrainConfig, old)
    assert (cfg.data.dataset, cfg.data.eval_clips, cfg.data.eval_crops) == ("ucf101:/d/UCF101", 5, None)
    assert resolve(TrainConfig, None, parse_override("data.data=folder:/x")).data.dataset == "folder:/x"
    assert "data" not in to_dict(cfg)["data"] and to_dict(cfg)["data"]["dataset"] == "ucf101:/d/UCF101"
