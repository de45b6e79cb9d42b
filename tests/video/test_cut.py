"""cut_clip: stream copy and re-encode give the frames asked for, and files that decode."""

import numpy as np
import pytest

from motionlens.dataprep.synth import write_long_video
from motionlens.core.errors import VideoError
from motionlens.video import count_frames, probe, read_frames
from motionlens.video.cut import cut_clip
from motionlens.video import frame_table

FPS = 15.0


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """12 s of H.264 with B-frames and a keyframe every 25 frames."""
    path = tmp_path_factory.mktemp("cut") / "long.mp4"
    write_long_video(path, [(None, 4.0), ("move_left", 4.0), (None, 4.0)], size=(48, 64), fps=FPS, seed=3)
    return path


def test_source_has_b_frames_and_sparse_keyframes(source):
    table = frame_table(source)
    assert len(table.pts) == 180
    keyframes = np.flatnonzero(table.keyframe).tolist()
    assert keyframes[:4] == [0, 25, 50, 75] and len(keyframes) < 12  # x264 may add one at a scene cut
    assert (table.decode_pos != np.arange(180)).any()  # decode order differs from presentation order


@pytest.mark.parametrize("mode", ["reencode", "copy", "auto"])
def test_window_on_keyframes_gives_exact_frames(source, tmp_path, mode):
    start, end = 25 / FPS, 75 / FPS  # frames 25..74: a keyframe to the next keyframe
    result = cut_clip(source, tmp_path / "out.mp4", start, end, mode=mode)
    assert result["mode"] == ("reencode" if mode == "reencode" else "copy")
    assert result["exact"] and result["frames"] == 50
    assert count_frames(tmp_path / "out.mp4") == 50
    assert abs(probe(tmp_path / "out.mp4").duration - 50 / FPS) <= 1 / FPS
    cut = read_frames(tmp_path / "out.mp4", [0, 49]).astype(int)
    original = read_frames(source, [25, 74]).astype(int)
    if mode == "reencode":
        assert np.abs(cut - original).mean() < 12
    else:
        assert np.array_equal(cut, original)  # stream copy is lossless


def test_auto_reencodes_a_window_that_starts_between_keyframes(source, tmp_path):
    result = cut_clip(source, tmp_path / "out.mp4", 2.0, 6.0)
    assert result["mode"] == "reencode" and result["exact"]
    assert result["frames"] == count_frames(tmp_path / "out.mp4") == 60
    assert abs(probe(tmp_path / "out.mp4").duration - 4.0) <= 1 / FPS
    last = read_frames(tmp_path / "out.mp4", [59])[0].astype(int)
    assert np.abs(last - read_frames(source, [89])[0].astype(int)).mean() < 12


def test_forced_copy_starts_at_the_keyframe_before(source, tmp_path):
    result = cut_clip(source, tmp_path / "out.mp4", 2.0, 6.0, mode="copy")
    assert result["mode"] == "copy" and not result["exact"]
    assert result["start"] == pytest.approx(25 / FPS)  # keyframe 25 is the last one at or before frame 30
    assert result["frames"] == count_frames(tmp_path / "out.mp4") >= 90 - 25
    first = read_frames(tmp_path / "out.mp4", [0])[0]
    assert np.array_equal(first, read_frames(source, [25])[0])


def test_window_outside_the_video_is_an_error_and_leaves_no_file(source, tmp_path):
    with pytest.raises(VideoError, match="no frames"):
        cut_clip(source, tmp_path / "out.mp4", 13.0, 15.0)
    with pytest.raises(ValueError, match="mode"):
        cut_clip(source, tmp_path / "out.mp4", 0.0, 1.0, mode="fast")
    assert list(tmp_path.iterdir()) == []
