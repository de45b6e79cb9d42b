"""The shared decoding pieces: output sizes, conversion with rotation, the damage report, warnings once."""

import logging

import av
import numpy as np
import pytest

from motionlens.video import DecodeReport, VideoError
from motionlens.video.frames import check_range, frame_to_array, output_size, warn_once


def test_output_size_short_side_truncates_like_torchvision():
    assert output_size(240, 320, 112) == (112, 149)  # 112 * 320 / 240 = 149.33
    assert output_size(320, 240, 112) == (149, 112)
    assert output_size(240, 320, (100, 50)) == (100, 50)
    assert output_size(240, 320, None) is None


def test_frame_to_array_resizes_the_upright_picture():
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = 255  # left half white
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    assert frame_to_array(frame).shape == (40, 60, 3)
    turned = frame_to_array(frame, size=20, rotation=90)  # counter-clockwise: the white half goes to the bottom
    assert turned.shape == (30, 20, 3)
    assert turned[-5:].mean() > 200 and turned[:5].mean() < 50


def test_decode_report_names_truncation_and_damage():
    assert DecodeReport(frames=100, expected=100).problem() is None
    report = DecodeReport(frames=16, expected=100, ends_early=True, damaged=3, num_frames=19)
    assert report.problem() == ("decoded 16 of 100 frames (the file ends early: truncated?); "
                                "3 of 19 frames damaged (corrupt data skipped)")


def test_check_range_names_the_bad_frame():
    check_range("v.mp4", [0, 9], 10)
    with pytest.raises(VideoError, match=r"v\.mp4.*frame -1 is out of range \(the video has 10 frames\)"):
        check_range("v.mp4", [-1, 3], 10)


def test_warn_once_per_file_and_message(caplog):
    with caplog.at_level(logging.WARNING, logger="motionlens.video.frames"):
        for _ in range(3):
            warn_once("a.avi", "something odd (frames test)")
        warn_once("b.avi", "something odd (frames test)")
    assert [r.getMessage() for r in caplog.records] == ["a.avi: something odd (frames test)",
                                                      "b.avi: something odd (frames test)"]
