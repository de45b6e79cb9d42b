"""Frame folders are read as videos are: by number, resized, streamed, probed, and told apart from files in one place."""

import cv2
import numpy as np
import pytest

from motionlens.video import VideoError, count_frames, frame_folder, frame_times, iter_frames, probe, read_clip, read_frames
from tests.conftest import pattern_frames


def test_frame_folder(tmp_path):
    frames = pattern_frames(12)
    folder = tmp_path / "v_X_g01_c01"
    folder.mkdir()
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"frame{i:06d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    got = read_frames(folder, [11, 0, 5, 5])
    np.testing.assert_array_equal(got, frames[[11, 0, 5, 5]])
    assert count_frames(folder) == 12
    assert [f.index for f in iter_frames(folder)] == list(range(12))
    assert read_frames(folder, [3, 4], size=6).shape == (2, 6, 8, 3)  # short side 6 of 48x64
    (folder / "frame000004.png").write_bytes(b"")
    with pytest.raises(VideoError, match=r"frame000004\.png: cannot decode image"):
        read_frames(folder, [3])


def test_frame_folders_are_told_apart_in_one_place_and_read_like_files(tmp_path, make_video):
    frames = pattern_frames(12)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"img_{i:05d}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    video = make_video("v.mp4", num_frames=12)
    assert frame_folder(video) is None and frame_folder(0) is None and frame_folder("rtsp://cam/live") is None
    assert len(frame_folder(folder)) == count_frames(folder) == 12
    np.testing.assert_allclose(frame_times(folder, fps=10.0), np.arange(12) / 10.0)
    info = probe(folder, default_fps=10.0)
    assert (info.num_frames, info.fps, info.duration, info.height, info.width) == (12, 10.0, 1.2, 48, 64)
    streamed = list(iter_frames(folder, size=24, step=5))  # times at 25 fps: folders store no rate
    assert [(f.index, f.time, f.image.shape) for f in streamed] == [(i, i / 25.0, (24, 32, 3)) for i in (0, 5, 10)]
    clip = read_clip(folder, [11, 30], clamp=True)
    np.testing.assert_array_equal(clip.frames, frames[[11, 11]])
    assert not clip.damaged.any()
