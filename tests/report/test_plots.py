"""Plots: real PNG files whose pixels show what they claim."""

from __future__ import annotations

import cv2
import numpy as np

from motionlens.report.plots import plot_confusion, plot_curves, plot_lr_find


def _read(path):
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_confusion_cells_darken_with_the_share_of_the_true_class(tmp_path):
    cm = np.array([[10, 0], [0, 0]])
    image = _read(plot_confusion(cm, ["a", "b"], tmp_path / "cm.png"))
    assert image.shape[0] > 200 and image.shape[1] > 200
    b, r = image[:, :, 0].astype(int), image[:, :, 2].astype(int)
    blue = (b - r > 60) & (r < 60)  # BGR: dark blue, the colour of a share of 1.0
    ys, xs = np.nonzero(blue)
    assert len(ys) > 500
    # the full cell (0, 0) is top-left of the matrix; the colour bar is the other blue area, far right
    matrix = xs < image.shape[1] * 0.7
    assert ys[matrix].mean() < image.shape[0] / 2 and xs[matrix].mean() < image.shape[1] / 2


def test_curves_and_lr_plots_are_pngs_of_the_expected_size(tmp_path):
    history = [{"epoch": e, "train_loss": 1 / e, "train_acc": e / 5} for e in range(1, 5)]
    assert _read(plot_curves(history, tmp_path / "c.png")).shape[:2] == (380, 1000)
    lrs = np.logspace(-5, 0, 20)
    image = _read(plot_lr_find(lrs, np.linspace(2, 1, 20), 1e-3, tmp_path / "lr.png"))
    red = (image[:, :, 2] > 200) & (image[:, :, 1] < 80) & (image[:, :, 0] < 80)
    assert red.sum() > 50  # the suggestion is drawn
    image = _read(plot_lr_find(lrs, np.linspace(2, 1, 20), None, tmp_path / "lr2.png"))
    assert ((image[:, :, 2] > 200) & (image[:, :, 1] < 80) & (image[:, :, 0] < 80)).sum() == 0
