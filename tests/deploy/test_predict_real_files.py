"""predict on files made by ffmpeg (tests/assets): segment times are the frames' real times, and a
file that ends early is named."""

from pathlib import Path

import numpy as np
import torch
from torch import nn

from motionlens.data.spec import InputSpec
from motionlens.deploy.predict import load_predictor, score_video, to_result
from motionlens.video import frame_times

ASSETS = Path(__file__).parents[1] / "assets"
PIPE = InputSpec(clip_len=4, frame_stride=1, target_fps=None, resize=32, crop_size=32,
                mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


class Constant(nn.Module):
    num_classes = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 2)


def predictor():
    return load_predictor(Constant(), pipeline=PIPE, classes=["a", "b"], device="cpu")


def test_segment_times_are_real_times_on_vfr():
    path = ASSETS / "vfr_mpdecimate.mp4"
    scores = score_video(predictor(), path, window_stride=2)
    result = to_result(scores, ["a", "b"])
    times = frame_times(path)
    for seg in result["segments"]:
        assert seg["start_sec"] == round(float(times[seg["start_frame"]]), 6)
    assert result["segments"][-1]["end_sec"] == result["duration"] == round(float(times[-1]) + 1 / scores.fps, 6)
    assert any(seg["start_sec"] != round(seg["start_frame"] / scores.fps, 6) for seg in result["segments"])  # VFR
    assert scores.problem is None


def test_a_file_that_ends_early_is_named():
    scores = score_video(predictor(), ASSETS / "truncated.avi")
    assert scores.frames == 8 and scores.problem.startswith("decoded 8 of 100 frames")
    assert np.isfinite(scores.probs).all()
