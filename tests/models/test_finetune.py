"""freeze / freeze_bn / param_groups."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model, freeze, param_groups, set_bn_eval


def _bns(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_finetune_from_freezes_earlier_stages_only():
    model = freeze(create_model("mc3_18", num_classes=4), finetune_from="layer3")
    for name, param in model.named_parameters():
        assert param.requires_grad == name.startswith(("layer3.", "layer4.", "fc.")), name
    # BatchNorm inside frozen stages stays in eval mode through model.train().
    model.train()
    assert not model.layer1[0].conv1[1].training and model.layer3[0].conv1[1].training


def test_head_stays_trainable_unless_listed():
    model = freeze(create_model("cnn3d_small"), finetune_from="fc")
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    model = freeze(create_model("cnn3d_small"), freeze=["fc", "stem"])
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"fc.weight", "fc.bias", "stem.0.weight", "stem.1.weight", "stem.1.bias"}


def test_unknown_stage_lists_the_stages():
    with pytest.raises(MotionlensError, match=r"stages: stem, block1, block2, block3, block4, fc"):
        freeze(create_model("cnn3d_small"), finetune_from="layer4")
    with pytest.raises(MotionlensError, match="cannot freeze 'nothing'"):
        freeze(create_model("cnn3d_small"), freeze=["nothing"])


def test_dotted_stages_of_x3d():
    model = freeze(create_model("x3d_xs"), finetune_from="blocks.4")
    trainable = {n.split(".")[1] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"4", "5"}


def test_freeze_bn_survives_train_and_keeps_statistics():
    model = freeze(create_model("cnn3d_small", num_classes=3), freeze_bn=True)
    model.train()
    assert all(not bn.training for bn in _bns(model))
    assert all(not p.requires_grad for bn in _bns(model) for p in bn.parameters())
    assert model.fc.weight.requires_grad and model.stem[0].weight.requires_grad
    before = model.block2[1].running_mean.clone()
    model(torch.randn(2, 3, 8, 64, 64)).sum().backward()
    assert torch.equal(model.block2[1].running_mean, before)
    assert model.stem[0].weight.grad is not None and model.stem[1].weight.grad is None
    clone = copy.deepcopy(model).train()  # the frozen state travels with copies (EMA, checkpoints)
    assert all(not bn.training for bn in _bns(clone))
    assert model.training  # the model itself still reports train mode


def test_set_bn_eval_works_on_foreign_modules():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    assert set_bn_eval(net) == 1
    wrapper = nn.ModuleDict({"net": net}).train()
    assert wrapper.training and not net[1].training


def test_param_groups_split_head_and_backbone():
    model = freeze(create_model("cnn3d_small", num_classes=3), finetune_from="block3")
    groups = param_groups(model, lr=0.01, head_lr=0.1)
    assert [g["name"] for g in groups] == ["backbone", "head"]
    assert [g["lr"] for g in groups] == [0.01, 0.1]
    head_ids = {id(p) for p in model.fc.parameters()}
    assert {id(p) for p in groups[1]["params"]} == head_ids
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert {id(p) for g in groups for p in g["params"]} == trainable
    assert not any(id(p) in head_ids for p in groups[0]["params"])
    assert param_groups(model, lr=0.01)[1]["lr"] == 0.01


def test_param_groups_exclude_bn_and_bias_from_weight_decay():
    model = create_model("cnn3d_small", num_classes=3)
    groups = {g["name"]: g for g in param_groups(model, lr=0.01, weight_decay=1e-4)}
    assert set(groups) == {"backbone", "head", "backbone_no_decay", "head_no_decay"}
    no_decay = {id(p) for name in ("backbone_no_decay", "head_no_decay") for p in groups[name]["params"]}
    assert id(model.fc.bias) in no_decay and id(model.stem[1].weight) in no_decay
    assert id(model.fc.weight) not in no_decay and id(model.stem[0].weight) not in no_decay
    assert groups["backbone"]["weight_decay"] == 1e-4 and groups["head_no_decay"]["weight_decay"] == 0.0
    optimizer = torch.optim.SGD(list(groups.values()), lr=0.01, momentum=0.9)
    model(torch.randn(2, 3, 8, 64, 64)).sum().backward()
    optimizer.step()
