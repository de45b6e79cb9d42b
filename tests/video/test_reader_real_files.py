"""Files made by ffmpeg, not by our writer (tests/assets/README.md): every frame number the
decoders give must be the frame a full sequential decode gives, and the number burned into it."""

from pathlib import Path

import numpy as np
import pytest

from motionlens.video import (
    DecodeReport,
    VideoError,
    count_frames,
    frame_times,
    frames_at,
    iter_frames,
    probe,
    read_clip,
    read_frames,
)
from motionlens.video.cut import cut_clip
from motionlens.video import frame_table

ASSETS = Path(__file__).parents[1] / "assets"
FIXTURES = ["xvid_bf.avi", "vfr_mpdecimate.avi", "vfr_mpdecimate.mp4", "h264_bf_editlist.mp4", "rotated90.mp4",
            "truncated.avi", "cinepak_vfr.avi"]
# fixture -> the number burned into each frame, in display order
NUMBERS = {
    "xvid_bf.avi": list(range(73)),
    "vfr_mpdecimate.avi": list(range(26)) + list(range(30, 61, 5)),
    "vfr_mpdecimate.mp4": list(range(26)) + list(range(30, 61, 5)),
    "cinepak_vfr.avi": list(range(26)) + list(range(30, 61, 5)),
    "h264_bf_editlist.mp4": list(range(13, 75)),  # the edit list hides frames 0-12
    "rotated90.mp4": list(range(50)),
}


def burned_number(image: np.ndarray) -> int:
    """The 8-bit bar code in rows 2-9 of an upright 96-wide fixture frame."""
    row = image[2:10].mean(axis=(0, 2))  # (W,)
    return sum(1 << b for b in range(8) if row[12 * b + 2:12 * b + 10].mean() > 128)


def sequential(path, **kw) -> np.ndarray:
    return np.stack([f.image for f in iter_frames(path, **kw)])


@pytest.fixture(scope="module", params=FIXTURES)
def fixture(request):
    path = ASSETS / request.param
    return path, sequential(path, rotate=False)


def test_every_index_matches_a_sequential_decode(fixture):
    path, full = fixture
    n = len(full)
    assert count_frames(path) == probe(path, exact=True).num_frames == len(frame_times(path)) == n
    np.testing.assert_array_equal(read_frames(path, range(n), rotate=False), full)
    rng = np.random.default_rng(0)
    for _ in range(8):  # random 16-frame clips, each a fresh open
        start = int(rng.integers(0, max(n - 16, 1)))
        clip = list(range(start, min(start + 16, n)))
        np.testing.assert_array_equal(read_frames(path, clip, rotate=False), full[clip])
    for _ in range(4):  # unsorted, repeated, scattered
        indices = rng.integers(0, n, 12).tolist() + [n - 1, 0, n - 1]
        np.testing.assert_array_equal(read_frames(path, indices, rotate=False), full[indices])
    for i in range(n):  # one frame at a time: every seek point and every distance from it
        np.testing.assert_array_equal(read_frames(path, [i], rotate=False)[0], full[i])


@pytest.mark.parametrize("name", sorted(NUMBERS))
def test_frames_show_their_own_number(name):
    frames = read_frames(ASSETS / name, range(count_frames(ASSETS / name)))
    if name == "rotated90.mp4":
        frames = np.rot90(frames, -1, axes=(1, 2))  # upright: the bar code runs down the left edge
    assert [burned_number(f) for f in frames] == NUMBERS[name]


def test_xvid_b_frames_are_in_display_order_where_packet_order_is_not():
    table = frame_table(ASSETS / "xvid_bf.avi")
    assert (table.decode_pos != np.arange(len(table))).any()  # packets come in decode order
    assert len(table.seek_pts) > 3  # and reads still seek


@pytest.mark.parametrize("name", ["vfr_mpdecimate.avi", "vfr_mpdecimate.mp4", "cinepak_vfr.avi"])
def test_vfr_times_are_real_and_flagged(name):
    path = ASSETS / name
    times = frame_times(path)
    np.testing.assert_allclose(times * 25, NUMBERS[name], atol=0.01)
    info = probe(path, exact=True)
    assert info.vfr and info.num_frames == 33 and not info.frames_estimated
    assert frames_at(times, 1.0) == 25 and frames_at(times, 1.19) == 25 and frames_at(times, 1.2) == 26
    np.testing.assert_array_equal(frames_at(times, [-1.0, 0.0, 0.05, 99.0]), [0, 0, 1, 32])


@pytest.mark.parametrize("name", ["vfr_mpdecimate.avi", "cinepak_vfr.avi"])
def test_header_count_that_lies_is_an_estimate_then_corrected(name):
    path = ASSETS / name
    headers = probe(path)
    assert headers.num_frames == 61 and headers.frames_estimated  # empty AVI chunks for dropped frames
    assert probe(path, exact=True).num_frames == 33
    assert not probe(path, exact=True).ends_early
    with pytest.raises(VideoError, match="frame 33 is out of range"):
        read_frames(path, [33])


def test_edit_list_hides_the_frames_before_the_cut():
    path = ASSETS / "h264_bf_editlist.mp4"
    assert probe(path).num_frames == 75 and probe(path, exact=True).num_frames == 62
    assert frame_times(path)[0] == 0.0


def test_rotation_is_applied_unless_turned_off():
    path = ASSETS / "rotated90.mp4"
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (64, 96, 90)
    assert (probe(path, rotate=False).width, probe(path, rotate=False).height) == (96, 64)
    upright = read_frames(path, [0, 7])
    stored = read_frames(path, [0, 7], rotate=False)
    assert upright.shape == (2, 96, 64, 3) and stored.shape == (2, 64, 96, 3)
    np.testing.assert_array_equal(upright, np.rot90(stored, 1, axes=(1, 2)))  # 90 degrees counter-clockwise
    assert np.array_equal(sequential(path), read_frames(path, range(50)))
    assert read_frames(path, [3], size=32).shape == (1, 48, 32, 3)  # short side of the upright picture
    assert read_frames(path, [3], size=(40, 24)).shape == (1, 40, 24, 3)


def test_truncated_file_is_named_with_what_decoded():
    path = ASSETS / "truncated.avi"
    report = DecodeReport()
    frames = list(iter_frames(path, report=report))
    assert len(frames) == report.frames == count_frames(path) == 8
    assert report.ends_early and report.problem().startswith("decoded 8 of 100 frames")
    assert probe(path).num_frames == 100 and probe(path, exact=True).ends_early
    with pytest.raises(VideoError, match=r"truncated\.avi: frame 50 is out of range \(the video has 8 frames\)"):
        read_frames(path, [50])


def test_a_whole_file_reports_no_problem():
    report = DecodeReport()
    assert len(list(iter_frames(ASSETS / "xvid_bf.avi", report=report))) == 73
    assert report.problem() is None and report.expected == 75  # the header counts 2 encoder-delay slots


def test_iter_frames_times_equal_frame_times():
    for name in ("vfr_mpdecimate.avi", "vfr_mpdecimate.mp4", "xvid_bf.avi"):
        times = [f.time for f in iter_frames(ASSETS / name)]
        np.testing.assert_allclose(times, frame_times(ASSETS / name), atol=1e-6)


def test_cut_uses_real_times_on_vfr(tmp_path):
    src = ASSETS / "vfr_mpdecimate.mp4"
    result = cut_clip(src, tmp_path / "cut.mp4", 1.0, 2.0, mode="reencode")
    assert result["frames"] == 5 and result["exact"]  # frames at 1.0, 1.2, ..., 1.8 s
    numbers = [burned_number(f) for f in read_frames(tmp_path / "cut.mp4", range(5))]
    assert numbers == [25, 30, 35, 40, 45]


def test_cut_of_xvid_b_frames_is_frame_exact(tmp_path):
    src = ASSETS / "xvid_bf.avi"
    result = cut_clip(src, tmp_path / "cut.mp4", 0.5, 1.5, mode="reencode")
    assert result["frames"] == 25
    numbers = [burned_number(f) for f in read_frames(tmp_path / "cut.mp4", range(25))]
    assert numbers == list(range(12, 37))  # 0.5 s is between frames 12 and 13: 12 is shown then


def test_read_clip_marks_nothing_damaged_on_good_files():
    clip = read_clip(ASSETS / "xvid_bf.avi", [5, 3, 70])
    assert clip.frames.shape == (3, 64, 96, 3) and not clip.damaged.any()


def test_real_h264_every_index(sample_videos):
    for path in sample_videos:
        full = sequential(path, size=32)
        n = len(full)
        assert probe(path, exact=True).num_frames == n
        rng = np.random.default_rng(2)
        indices = sorted(rng.choice(n, min(n, 40), replace=False).tolist()) + [n - 1, 0]
        np.testing.assert_array_equal(read_frames(path, indices, size=32), full[indices])


@pytest.mark.parametrize("name", [f for f in FIXTURES if f != "truncated.avi"])
def test_clip_reads_take_the_seek_path(name, monkeypatch):
    """The fast path is proven for these files: no read falls back to decoding through."""
    import motionlens.video.reader as reader

    fallbacks = []
    monkeypatch.setattr(reader, "_read_forward", lambda *a, **k: fallbacks.append(a) or 0)
    n = count_frames(ASSETS / name)
    for start in range(0, n - 8, 5):
        read_frames(ASSETS / name, range(start, start + 8), size=16)
    assert not fallbacks
