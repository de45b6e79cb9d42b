"""Colour-wheel pictures: direction sets the hue, magnitude the brightness; files written by show_flow."""

import cv2
import numpy as np
import pytest

from motionlens.core.errors import MotionlensError
from motionlens.dataprep.flow_visualize import color_wheel, flow_to_color, show_flow
from motionlens.video import count_frames, write_video


def hsv_of(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.reshape(1, -1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(int)


def test_hue_follows_direction_and_value_follows_magnitude():
    directions = np.array([[[4, 0], [0, 4], [-4, 0], [0, -4]]], np.float32)  # right, down, left, up
    hsv = hsv_of(flow_to_color(directions, max_magnitude=4))
    assert hsv[:, 0].tolist() == [0, 45, 90, 135]  # OpenCV hue is degrees / 2
    assert (hsv[:, 2] == 255).all()
    slow = hsv_of(flow_to_color(directions / 4, max_magnitude=4))
    assert np.allclose(slow[:, 2], 64, atol=1) and slow[:, 0].tolist() == [0, 45, 90, 135]


def test_no_motion_is_black_and_larger_motion_saturates():
    image = flow_to_color(np.array([[[0, 0], [100, 0]]], np.float32), max_magnitude=5)
    assert image[0, 0].tolist() == [0, 0, 0]
    assert image[0, 1].tolist() == [255, 0, 0]  # rightwards: red, full brightness


def test_wheel_is_a_legend_with_opposite_colours_on_opposite_sides():
    wheel = color_wheel(65)
    assert wheel.shape == (65, 65, 3)
    assert wheel[32, 32].tolist() == [0, 0, 0] and wheel[0, 0].tolist() == [255, 255, 255]
    right, left = hsv_of(wheel[32:33, 63:64])[0], hsv_of(wheel[32:33, 1:2])[0]
    assert right[0] == 0 and left[0] == 90


def test_show_flow_of_a_video_writes_pngs_an_mp4_and_a_legend(tmp_path):
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (48, 96, 3)).astype(np.float32), (0, 0), 2)
    texture = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    frames = np.stack([texture[:, 20 - 2 * t:84 - 2 * t] for t in range(10)])  # slides right 2 px a frame
    video = write_video(tmp_path / "v.mp4", frames, fps=10, crf=12)
    result = show_flow(video, tmp_path / "show", num_images=3)
    assert [p.name for p in result["images"]] == ["flow_00001.png", "flow_00005.png", "flow_00009.png"]
    assert result["num_flow_frames"] == 9 and count_frames(result["video"]) == 9
    assert result["wheel"].is_file() and 1.5 < result["max_magnitude"] < 3
    picture = cv2.cvtColor(cv2.imread(str(result["images"][1])), cv2.COLOR_BGR2RGB)
    hsv = hsv_of(picture[12:-12, 12:-12])
    bright = hsv[hsv[:, 2] > 128]
    assert len(bright) > 0.5 * len(hsv) and np.median(bright[:, 0]) in (0, 1, 179)  # mostly red: rightwards


def test_show_flow_refuses_a_missing_source(tmp_path):
    with pytest.raises(MotionlensError, match="not found"):
        show_flow(tmp_path / "nope.mp4", tmp_path / "out")
