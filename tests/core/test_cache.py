from pathlib import Path

from motionlens.core.cache import cache_dir, cache_root


def test_the_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MOTIONLENS_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert cache_dir("probe") == tmp_path / "probe"
    monkeypatch.delenv("MOTIONLENS_CACHE")
    assert cache_root() == Path.home() / ".cache" / "motionlens"
