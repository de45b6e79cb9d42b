"""read_frames / read_clip: random access equals a sequential decode, on every codec we write."""

import numpy as np
import pytest

from motionlens.video import (
    VideoError,
    count_frames,
    iter_frames,
    read_frames,
)

CODECS = [("a.mp4", None), ("b.avi", "xvid"), ("c.avi", "divx"), ("d.avi", "mjpeg"), ("e.webm", None)]


def sequential(path) -> np.ndarray:
    return np.stack([f.image for f in iter_frames(path)])


@pytest.mark.parametrize("name,codec", CODECS)
def test_read_frames_equals_sequential_decode(make_video, name, codec):
    path = make_video(name, num_frames=60, codec=codec)
    full = sequential(path)
    assert full.shape == (60, 48, 64, 3) and full.dtype == np.uint8
    rng = np.random.default_rng(1)
    indices = list(rng.integers(0, 60, 25)) + [59, 0, 30, 30]  # unsorted, with repeats
    np.testing.assert_array_equal(read_frames(path, indices), full[indices])
    assert count_frames(path) == 60


def test_real_h264_videos_random_access(sample_videos):
    path = next(p for p in sample_videos if p.name == "bikes.mp4")
    full = sequential(path)
    rng = np.random.default_rng(0)
    indices = list(rng.integers(0, len(full), 12)) + [len(full) - 1, 0]
    np.testing.assert_array_equal(read_frames(path, indices), full[indices])


def test_resize_while_decoding(make_video):
    path = make_video("r.mp4")
    assert read_frames(path, [0, 1], size=24).shape == (2, 24, 32, 3)  # short side, torchvision truncation
    assert read_frames(path, [3], size=(20, 30)).shape == (1, 20, 30, 3)


def test_out_of_range_names_file(make_video):
    path = make_video("o.mp4", num_frames=10)
    with pytest.raises(VideoError, match=r"o\.mp4.*frame 10 is out of range \(the video has 10 frames\)"):
        read_frames(path, [0, 10])


def test_truncated_avi_is_a_video_error(make_video):
    path = make_video("t.avi", num_frames=60, codec="xvid")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(VideoError, match="t.avi"):
        read_frames(path, [55])


def test_clamp_reads_past_an_estimated_end_as_the_last_frame(make_video):
    path = make_video("est.webm", num_frames=20, fps=10)
    full = sequential(path)
    got = read_frames(path, [19, 20, 22], clamp=True)
    np.testing.assert_array_equal(got, full[[19, 19, 19]])
    with pytest.raises(VideoError, match="out of range"):
        read_frames(path, [20])
