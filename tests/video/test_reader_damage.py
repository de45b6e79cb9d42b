"""Damaged files decode what can be decoded: corrupt packets are skipped, the frames they hit are
counted, and every other frame keeps its number."""

import struct
from pathlib import Path

import numpy as np
import pytest

from motionlens.video import DecodeReport, count_frames, frame_times, iter_frames, read_clip, read_frames


def mdat_range(data: bytes) -> tuple[int, int]:
    """(start, end) of the payload of an MP4's first mdat box."""
    i = 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        if kind == b"mdat":
            return i + 8, i + size
        i += max(size, 8)
    raise AssertionError("no mdat")


@pytest.fixture(scope="module")
def damaged(sample_videos, tmp_path_factory):
    """bikes.mp4 (250 frames of H.264) with 300 bytes flipped in the second half of its frames."""
    src = next(p for p in sample_videos if p.name == "bikes.mp4")
    data = bytearray(src.read_bytes())
    start, end = mdat_range(data)
    for pos in np.random.default_rng(0).integers((start + end) // 2, end, 300):
        data[pos] ^= 0xFF
    path = tmp_path_factory.mktemp("damaged") / "bikes_damaged.mp4"
    path.write_bytes(bytes(data))
    return src, path


def test_a_damaged_file_reads_and_counts_its_damage(damaged):
    src, path = damaged
    assert count_frames(path) == count_frames(src) == 250  # numbering comes from the container
    np.testing.assert_allclose(frame_times(path), frame_times(src))
    clip = read_clip(path, range(250), size=32)
    assert clip.frames.shape == (250, 32, 75, 3)
    assert 0 < clip.damaged.sum() < 250
    assert int(np.flatnonzero(clip.damaged)[0]) > 100  # the damage is in the second half
    np.testing.assert_array_equal(read_frames(src, range(100), size=32), clip.frames[:100])


def test_streaming_keeps_going_and_names_the_damage(damaged):
    _, path = damaged
    report = DecodeReport()
    frames = list(iter_frames(path, size=32, report=report))
    assert len(frames) >= 240 and frames[-1].index >= 240  # decoding went on past the damage
    indices = [f.index for f in frames]
    assert indices == sorted(set(indices))  # display order, numbers kept
    assert report.damaged > 0 and not report.ends_early
    assert report.problem() == f"{report.damaged} of 250 frames damaged (corrupt data skipped)"


def test_clean_file_reports_nothing(sample_videos):
    report = DecodeReport()
    for _ in iter_frames(next(p for p in sample_videos if p.name == "bikes.mp4"), size=16, step=50, report=report):
        pass
    assert report.problem() is None and report.frames == 250


def test_lost_frames_hold_the_nearest_decoded_one(tmp_path):
    """An AVI chunk that is zeroed cannot be decoded: the frame is marked and filled, the rest keep numbers."""
    src = Path(__file__).parents[1] / "assets" / "vfr_mpdecimate.avi"  # no B-frames: one chunk per frame
    data = bytearray(src.read_bytes())
    full = read_frames(src, range(33))
    movi = data.index(b"movi")  # zero the payload of frame 10's chunk (AVI chunks: "00dc" + size)
    pos = [i for i in range(movi, len(data) - 4) if data[i:i + 4] == b"00dc"][10]
    size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
    data[pos + 8:pos + 8 + size] = bytes(size)
    path = tmp_path / "zeroed.avi"
    path.write_bytes(bytes(data))
    clip = read_clip(path, range(33))
    assert clip.damaged[10] and clip.damaged.sum() == 1  # P-frames 11 after it are concealed, unflagged
    np.testing.assert_array_equal(clip.frames[:10], full[:10])
    assert not clip.damaged[12:].any()  # the next keyframe (12) starts clean
    np.testing.assert_array_equal(clip.frames[12:], full[12:])
