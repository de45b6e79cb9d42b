"""The frame table cache: tables built by decoding are kept on disk, and a damaged cache file is rebuilt."""

import importlib
from pathlib import Path

import numpy as np
import pytest

from motionlens.video import frame_table, read_frames

# `motionlens.video.frame_table` is also the function's name, so the module is fetched by name.
tables = importlib.import_module("motionlens.video.frame_table")

XVID_BF = Path(__file__).parents[1] / "assets" / "xvid_bf.avi"


def test_tables_built_by_decoding_are_kept_on_disk(monkeypatch):
    """A fresh process (a DataLoader worker of the next epoch) reads the table of an AVI with
    B-frames from the cache instead of decoding the whole file again, and reads the same frames."""
    tables._TABLES.clear()
    built = frame_table(XVID_BF)
    first = read_frames(XVID_BF, [40, 41, 3])
    tables._TABLES.clear()
    monkeypatch.setattr(tables, "_table_by_decoding", lambda *a: pytest.fail("decoded the file again"))
    loaded = frame_table(XVID_BF)
    for name in tables._TABLE_ARRAYS + tables._TABLE_SCALARS:
        assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
    np.testing.assert_array_equal(read_frames(XVID_BF, [40, 41, 3]), first)


def test_an_unreadable_table_cache_is_rebuilt(isolated_cache):
    tables._TABLES.clear()
    built = frame_table(XVID_BF)
    tables._TABLES.clear()
    (stored,) = (isolated_cache / "frame_tables").glob("*.npz")
    stored.write_bytes(b"not a table")
    assert np.array_equal(frame_table(XVID_BF).pts, built.pts)


def test_the_disk_cache_lives_under_the_cache_root_and_is_written_whole(isolated_cache, monkeypatch):
    """Workers read the cache while others write it: a write that fails leaves no file behind, not half of one."""
    tables._TABLES.clear()
    real_savez = np.savez

    def fails_midway(file, **arrays):
        file.write(b"PK half a table")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fails_midway)
    frame_table(XVID_BF)  # a cache that cannot be written only costs the next process a decode
    assert not list((isolated_cache / "frame_tables").iterdir())
    monkeypatch.setattr(np, "savez", real_savez)
    tables._TABLES.clear()
    built = frame_table(XVID_BF)
    assert [f.suffix for f in (isolated_cache / "frame_tables").iterdir()] == [".npz"]
    tables._TABLES.clear()
    assert np.array_equal(frame_table(XVID_BF).pts, built.pts)
