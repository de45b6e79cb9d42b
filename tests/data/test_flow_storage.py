"""8-bit flow storage: the quantisation round trip and the measured JPEG / lossless-video error."""

import numpy as np
import pytest

from motionlens.data.flow_storage import (BOUND, JPEG_MAX_LEVELS, MAX_ERROR, STEP, JpegFlowWriter, VideoFlowWriter,
                                          dequantize, quantize, read_flow, write_done)


def smooth_flow(num_frames=6, size=(40, 56), seed=0) -> np.ndarray:
    """float32 (T, H, W, 2): smooth fields within +-12 px, like real flow (JPEG likes smooth images)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[0], 0:size[1]] / 10.0
    frames = []
    for _ in range(num_frames):
        a, b, c, d = rng.uniform(0, 6, 4)
        frames.append(np.stack([6 * np.sin(x + a) * np.cos(y + b), 6 * np.cos(x - c) + 4 * np.sin(y + d)], -1))
    return np.stack(frames).astype(np.float32)


def test_constants_follow_the_tvl1_convention():
    assert BOUND == 20.0 and MAX_ERROR == pytest.approx(40 / 255 / 2)
    assert quantize(np.array([-20.0, 0.0, 20.0])).tolist() == [0, 128, 255]  # 127.5 rounds to even 128


def test_round_trip_is_within_half_a_step_inside_the_bound():
    flow = np.random.default_rng(0).uniform(-BOUND, BOUND, (1000, 2)).astype(np.float32)
    error = np.abs(dequantize(quantize(flow)) - flow)
    assert error.max() <= MAX_ERROR + 1e-5
    assert error.max() > 0.9 * MAX_ERROR  # the bound is tight, not loose


def test_flow_beyond_the_bound_is_clipped():
    q = quantize(np.array([[-35.0, 42.0]]))
    assert q.tolist() == [[0, 255]]
    assert dequantize(q).tolist() == [[-20.0, 20.0]]


def _store(tmp_path, writer, flow):
    q = quantize(flow)
    for frame in q:
        writer.write(frame)
    written = writer.close()
    write_done(tmp_path, {"num_flow_frames": len(q), "height": q.shape[1], "width": q.shape[2], **written})
    return q


def test_jpeg_round_trip_error_is_within_the_stated_bound(tmp_path):
    flow = smooth_flow()
    q = _store(tmp_path, JpegFlowWriter(tmp_path), flow)
    back = read_flow(tmp_path, range(len(q)))
    levels = np.abs(back.astype(int) - q.astype(int))
    assert levels.max() <= JPEG_MAX_LEVELS and levels.mean() < 0.25
    pixels = np.abs(dequantize(back) - flow)
    assert pixels.max() <= MAX_ERROR + JPEG_MAX_LEVELS * STEP + 1e-5  # 0.71 px
    assert pixels.mean() < 0.1


def test_video_storage_is_lossless_and_crops_odd_sizes(tmp_path):
    flow = smooth_flow(num_frames=20, size=(33, 45))  # odd sizes are padded to even for 4:2:0, then cropped
    q = _store(tmp_path, VideoFlowWriter(tmp_path, fps=25.0), flow)
    back = read_flow(tmp_path, [19, 0, 7, 7])
    assert back.shape == (4, 33, 45, 2)
    assert np.array_equal(back, q[[19, 0, 7, 7]])
