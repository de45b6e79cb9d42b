"""The frame table cache: tables are kept on disk, and a damaged cache file is rebuilt."""

import importlib
from contextlib import contextmanager
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


def test_tables_from_packets_are_kept_on_disk_too(isolated_cache, monkeypatch):
    """An MP4's table comes from demuxing the whole file; a fresh process loads it instead."""
    path = Path(__file__).parents[1] / "assets" / "h264_bf_editlist.mp4"
    tables._TABLES.clear()
    built = frame_table(path)
    tables._TABLES.clear()
    monkeypatch.setattr(tables, "_build_table", lambda *a: pytest.fail("demuxed the file again"))
    loaded = frame_table(path)
    for name in tables._TABLE_ARRAYS + tables._TABLE_SCALARS:
        assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
        assert type(getattr(loaded, name)) is type(getattr(built, name)), name


def test_an_unreadable_table_cache_is_rebuilt(isolated_cache):
    tables._TABLES.clear()
    built = frame_table(XVID_BF)
    tables._TABLES.clear()
    (stored,) = (isolated_cache / "frame_tables").glob("*.table")
    stored.write_bytes(b"not a table")
    assert np.array_equal(frame_table(XVID_BF).pts, built.pts)


def test_the_disk_cache_lives_under_the_cache_root_and_is_written_whole(isolated_cache, monkeypatch):
    """Workers read the cache while others write it: a write that fails leaves no file behind, not half of one."""
    tables._TABLES.clear()
    real_write = tables.atomic_write

    @contextmanager
    def fails_midway(path, *args, **kw):
        with real_write(path, *args, **kw) as f:
            f.write(b"half a table")
            raise OSError("disk full")
        yield f

    monkeypatch.setattr(tables, "atomic_write", fails_midway)
    frame_table(XVID_BF)  # a cache that cannot be written only costs the next process a decode
    assert not list((isolated_cache / "frame_tables").iterdir())
    monkeypatch.setattr(tables, "atomic_write", real_write)
    tables._TABLES.clear()
    built = frame_table(XVID_BF)
    assert [f.suffix for f in (isolated_cache / "frame_tables").iterdir()] == [".table"]
    tables._TABLES.clear()
    assert np.array_equal(frame_table(XVID_BF).pts, built.pts)
