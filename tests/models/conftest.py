"""Shared fixtures for the model tests: models are built once per session, inputs are tiny."""

from __future__ import annotations

import pytest
import torch

from motionlens.models import create_model
from tests.models._helpers import NUM_CLASSES


@pytest.fixture(scope="session")
def zoo():
    """``zoo(name)``: a ``NUM_CLASSES``-way model built once per session (copy it before mutating)."""
    cache: dict[str, torch.nn.Module] = {}

    def get(name: str) -> torch.nn.Module:
        if name not in cache:
            torch.manual_seed(0)
            cache[name] = create_model(name, num_classes=NUM_CLASSES)
        return cache[name]

    return get


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """A private torch hub dir; ``torch.hub.get_dir()`` points into it for the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    return checkpoints


@pytest.fixture
def no_download(monkeypatch):
    """Fail loudly if anything tries to download; records the attempted calls."""
    calls = []

    def refuse(url, dst, hash_prefix=None, progress=True):
        calls.append({"url": url, "dst": dst, "hash_prefix": hash_prefix})
        raise OSError("network is unreachable (test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    return calls
