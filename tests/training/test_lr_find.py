import numpy as np

from motionlens.training.lr_find import suggest_lr


def test_suggests_the_steepest_descent_before_the_minimum():
    lrs = np.logspace(-6, 0, 61)
    x = np.log10(lrs)
    losses = 2.0 - 1.5 / (1 + np.exp(-(x + 3) * 3))  # falls fastest at 1e-3
    losses[x > -1] += (x[x > -1] + 1) * 5  # then blows up
    assert abs(np.log10(suggest_lr(lrs, losses)) + 3) <= 0.15


def test_no_suggestion_without_a_descent():
    lrs = np.logspace(-6, 0, 20)
    assert suggest_lr(lrs, np.linspace(1, 3, 20)) is None
