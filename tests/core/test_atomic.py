"""core.atomic: the target is replaced whole or not at all, and no temporary file is left."""

from pathlib import Path

import pytest

from motionlens.core.atomic import atomic_path, atomic_write, write_bytes, write_text


def test_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    write_text(target, "new ✓", durable=True)
    assert target.read_text(encoding="utf-8") == "new ✓"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
    write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as f:
            f.write("half")
            raise RuntimeError("disk died")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_missing_folder_is_an_oserror_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        write_text(tmp_path / "no" / "such" / "file.txt", "x")
    assert not (tmp_path / "no").exists()
    assert isinstance(tmp_path, Path)


def test_atomic_path_keeps_the_suffix_and_replaces_only_on_success(tmp_path):
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with atomic_path(target, durable=True) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4" and tmp.name.startswith(".")
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # nothing visible until the block ends
    assert target.read_bytes() == b"new"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("encoder died")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
