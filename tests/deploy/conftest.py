"""A small model trained in the test session on synthetic videos, saved as a run folder: what the
backend and export tests compare runtimes and precisions on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

CLASSES = ["move_left", "move_right", "move_up", "move_down"]
WIDTHS = (16, 32, 64, 128)  # a narrow cnn3d_small: ~0.2 s a training step of 16 clips on one core


def train_tiny_run(root: Path, steps: int = 150, seed: int = 0, modality: str = "diff",
                   widths: tuple[int, ...] = WIDTHS) -> Path:
    """Synthesize 4 motion classes (list layout: train/val/test), train cnn3d_small on frame
    differences of clips decoded once, and save it as RUN/checkpoints/best.pt whose config names
    the data (so export calibrates on it by default); returns the run folder."""
    from motionlens.data.pipeline import clip_input
    from motionlens.data.spec import InputSpec
    from motionlens.dataprep.synth import synthesize
    from motionlens.models import create_model
    from motionlens.training.checkpoint import save_checkpoint
    from motionlens.video import frame_times

    data = synthesize(root / "data", layout="list", videos_per_class=20, size=(40, 52), fps=12.5,
                      duration=(1.2, 2.0), seed=3, split_ratio=0.6, object_size=(0.2, 0.3), classes=CLASSES)
    pipe = InputSpec(clip_len=8, frame_stride=2, target_fps=None, resize=(32, 32), crop_size=32,
                    mean=(0.0,) * 3 if modality == "diff" else (0.45,) * 3, std=(0.225,) * 3, modality=modality)
    from motionlens.config import DataConfig
    from motionlens.data.pipeline import load_index

    index = load_index(DataConfig(dataset=data.spec), show_progress=False)
    clips, labels = [], []
    for record in index.records:
        if record.split != "train":
            continue
        end = float(frame_times(record.path)[-1])
        for start in np.linspace(0, max(end - 1.3, 0), 2):
            clips.append(clip_input(record.path, pipe, float(start)))
            labels.append(record.label)
    x, y = torch.stack(clips), torch.tensor(labels)  # (N, C, T, H, W), (N,)
    torch.manual_seed(seed)
    model = create_model("cnn3d_small", num_classes=len(CLASSES), widths=widths)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small convolutions: a second thread costs more than it gives on a shared CPU
    try:
        _fit(model, optimizer, x, y, steps, generator)
    finally:
        torch.set_num_threads(threads)
    run = root / "run"
    config = {"data": {"dataset": data.spec, "eval_clips": 2, "eval_crops": 1, "batch_size": 8, "num_workers": 0}}
    save_checkpoint({"model": model.state_dict(), "config": config, "classes": list(index.classes),
                     "pipeline": pipe.to_dict(), "model_name": "cnn3d_small", "model_options": {"widths": list(widths)}},
                    run / "checkpoints" / "best.pt")
    return run


def _fit(model, optimizer, x: torch.Tensor, y: torch.Tensor, steps: int, generator: torch.Generator) -> None:
    for _ in range(steps):
        batch = torch.randint(0, len(x), (16,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@pytest.fixture(scope="session")
def tiny_trained_run(tmp_path_factory) -> Path:
    """About 30-40 s on 2 shared cores; fp32 test video top-1 ~0.9 (chance 0.25)."""
    return train_tiny_run(tmp_path_factory.mktemp("trained"))


def run_main(argv: list, capsys) -> tuple[int, str]:
    """`motionlens ARGV` in this process (so monkeypatches apply): (exit status, stderr)."""
    from motionlens.cli import main

    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as done:
        code = done.code
    return code, capsys.readouterr().err
