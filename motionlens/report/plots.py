"""Training curves, confusion matrices and the LR-finder plot, as PNG files (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_curves(history: Sequence[dict], path: str | Path) -> Path:
    """Loss and accuracy per epoch, train and validation side by side."""
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    if any("val_loss" in r for r in history):
        val = [(r["epoch"], r["val_loss"]) for r in history if "val_loss" in r]
        ax_loss.plot(*zip(*val), "s-", label="validation")
    ax_acc.plot(epochs, [r["train_acc"] for r in history], "o-", label="train (clip)")
    for key, label in (("val_clip_top1", "validation clip top-1"), ("val_video_top1", "validation video top-1")):
        val = [(r["epoch"], r[key]) for r in history if key in r]
        if val:
            ax_acc.plot(*zip(*val), "s-", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_confusion(cm: np.ndarray, classes: Sequence[str], path: str | Path, max_labels: int = 60) -> Path:
    """Row-normalised confusion matrix; counts are written in the cells when there are few classes."""
    n = len(classes)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    side = min(4 + 0.35 * n, 24)
    fig, ax = plt.subplots(figsize=(side, side * 0.85))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if n <= max_labels:
        ax.set_xticks(range(n), classes, rotation=90, fontsize=8)
        ax.set_yticks(range(n), classes, fontsize=8)
    if n <= 20:
        for i in range(n):
            for j in range(n):
                if cm[i, j]:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix (video level)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_lr_find(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None, path: str | Path) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(lrs, losses)
    if suggestion:
        ax.axvline(suggestion, color="red", linestyle="--", label=f"suggested {suggestion:.2e}")
        ax.legend()
    ax.set(xscale="log", xlabel="learning rate", ylabel="smoothed loss", title="learning-rate finder")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
