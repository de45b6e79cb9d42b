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
