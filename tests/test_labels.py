"""Label files shipped with the package (tests for motionlens/labels.py)."""

from __future__ import annotations

import pytest

from motionlens.core.errors import MotionlensError
from motionlens.labels import (
    AVA_EVAL60_IDS,
    ava_action_id,
    ava_actions,
    kinetics400_categories,
    kinetics400_classes,
    kinetics_sport_classes,
)


def test_kinetics400_names():
    names = kinetics400_classes()
    assert len(names) == 400 and len(set(names)) == 400
    assert names[:3] == ["abseiling", "air drumming", "answering questions"] and names[-1] == "zumba"
    assert names == sorted(names)  # torchvision / PyTorchVideo label order
    assert names.index("sharpening knives") == 290 and names.index("eating ice cream") == 115


def test_categories_partition_the_400_classes():
    groups = kinetics400_categories()
    members = [name for names in groups.values() for name in names]
    assert len(members) == 400 and set(members) == set(kinetics400_classes())
    assert 8 <= len(groups) <= 15


def test_sports_subset():
    sports = kinetics_sport_classes()
    assert sports and set(sports) <= set(kinetics400_classes())
    assert {"playing basketball", "high jump", "skiing slalom"} <= set(sports)
    assert "eating cake" not in sports


def test_ava_actions():
    actions = ava_actions()
    assert sorted(actions) == list(range(1, 81))
    assert actions[1] == "bend/bow (at the waist)" and actions[8] == "lie/sleep" and actions[29] == "eat"
    assert (
        actions[64] == "fight/hit (a person)" and actions[71] == "kick (a person)" and actions[80] == "watch (a person)"
    )
    assert len(set(actions.values())) == 80
    assert list(ava_actions(eval60=True)) == list(AVA_EVAL60_IDS) and len(AVA_EVAL60_IDS) == 60


def test_ava_action_id():
    assert ava_action_id("64") == ava_action_id(64) == ava_action_id("fight/hit (a person)") == 64
    with pytest.raises(MotionlensError, match="unknown AVA action 'punch'"):
        ava_action_id("punch")
    with pytest.raises(MotionlensError):
        ava_action_id("81")
