import numpy as np
import pytest

from motionlens.video import VideoWriter, count_frames, probe, read_frames
from motionlens.video.writer import pick_codec
from tests.conftest import pattern_frames


def test_writer_keeps_fps_and_frame_count(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, fps=30) as writer:
        for frame in pattern_frames(45):
            writer.write(frame)
    info = probe(path)
    assert info.codec == "h264" and info.fps == pytest.approx(30.0)
    assert count_frames(path) == 45 == writer.frames_written


def test_odd_sizes_are_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=25) as writer:
        for frame in pattern_frames(5, size=(33, 47)):
            writer.write(frame)
    assert read_frames(path, [0]).shape == (1, 34, 48, 3)


def test_avi_defaults_to_xvid_tagged_mpeg4(tmp_path):
    assert pick_codec(tmp_path / "x.avi") == ("mpeg4", "XVID")
    assert pick_codec(tmp_path / "x.avi", "divx") == ("mpeg4", "DIVX")
    assert pick_codec(tmp_path / "x.mp4")[0] in ("libx264", "h264", "mpeg4")


def test_rejects_wrong_dtype(tmp_path):
    with VideoWriter(tmp_path / "bad.mp4", fps=25) as writer:
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((8, 8, 3), dtype=np.float32))
