from pathlib import Path

import numpy as np
import pytest

from motionlens.video import (
    VideoError,
    count_frames,
    decode,
    frame_folder,
    frame_times,
    iter_frames,
    probe,
    read_clip,
    read_frames,
)
from tests.conftest import pattern_frames

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


def test_frame_folder(tmp_path):
    import cv2

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


def test_frame_folders_are_told_apart_in_one_place_and_read_like_files(tmp_path, make_video):
    import cv2

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


XVID_BF = Path(__file__).parents[1] / "assets" / "xvid_bf.avi"


def test_tables_built_by_decoding_are_kept_on_disk(monkeypatch):
    """A fresh process (a DataLoader worker of the next epoch) reads the table of an AVI with
    B-frames from the cache instead of decoding the whole file again, and reads the same frames."""
    decode._TABLES.clear()
    built = decode.frame_table(XVID_BF)
    first = read_frames(XVID_BF, [40, 41, 3])
    decode._TABLES.clear()
    monkeypatch.setattr(decode, "_table_by_decoding", lambda *a: pytest.fail("decoded the file again"))
    loaded = decode.frame_table(XVID_BF)
    for name in decode._TABLE_ARRAYS + decode._TABLE_SCALARS:
        assert np.array_equal(getattr(loaded, name), getattr(built, name)), name
    np.testing.assert_array_equal(read_frames(XVID_BF, [40, 41, 3]), first)


def test_an_unreadable_table_cache_is_rebuilt(isolated_cache):
    decode._TABLES.clear()
    built = decode.frame_table(XVID_BF)
    decode._TABLES.clear()
    (stored,) = (isolated_cache / "frame_tables").glob("*.npz")
    stored.write_bytes(b"not a table")
    assert np.array_equal(decode.frame_table(XVID_BF).pts, built.pts)


def test_a_ctrl_c_inside_a_blocking_read_stops_instead_of_ending_the_stream(make_video, monkeypatch):
    """FFmpeg answers a pending Ctrl-C in a blocking (network) read with AVERROR_EXIT; read as the
    end of the stream, `watch` reconnected instead of stopping. It must come out as KeyboardInterrupt."""
    import av

    from motionlens.video import decode

    path = make_video("live.mp4", num_frames=20)
    real_open = decode.open_source

    class Interrupted:
        def __init__(self, container):
            self.container = container

        def __getattr__(self, name):
            return getattr(self.container, name)

        def demux(self, stream):
            for k, packet in enumerate(self.container.demux(stream)):
                if k == 5:
                    raise av.error.ExitError(-0x54495845, "Immediate exit requested")
                yield packet

    monkeypatch.setattr(decode, "open_source", lambda source, **kw: Interrupted(real_open(source, **kw)))
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for frame in iter_frames(path):
            seen.append(frame.index)
    assert 0 < len(seen) < 20
