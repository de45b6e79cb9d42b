"""Which source frames make a clip: frame-rate resampling and clip frame offsets, as pure functions.

torchvision's video weights were trained on videos resampled to 15 fps by
`VideoClips._resample_video_idx`: output frame k is source frame `floor(k * fps / 15)`, and a
video yields `floor(num_frames * 15 / fps)` frames. `resample_indices` states the same rule over
real frame times, so it also holds for variable frame rate: output frame k, at time `k / rate`
after the first frame, is the frame on screen then (the last frame shown at or before it), and
only output frames whose whole display period lies inside the video are kept. For a constant
frame rate the two are the same frames, except that for a whole-number ratio (30 to 15 fps)
torchvision slices `[::2]` and so keeps one more frame at the end of an odd-length video.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = 1e-6  # seconds; far below any frame period, above float noise in timestamps


def resample_indices(times: np.ndarray, rate: float) -> np.ndarray:
    """`(K,)` int64 source frame numbers of a video resampled to `rate` fps.

    `times`: `(N,)` display times of the source frames in seconds, increasing."""
    times = np.asarray(times, dtype=np.float64)
    n = len(times)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rel = times - times[0]
    period = rel[-1] / (n - 1) if n > 1 else 1.0 / rate  # mean frame period: duration = n periods
    duration = rel[-1] + period
    count = max(int(math.floor(duration * rate + _EPS)), 1)
    out_times = np.arange(count, dtype=np.float64) / rate
    return (np.searchsorted(rel, out_times + _EPS, side="right") - 1).clip(0, n - 1).astype(np.int64)


def uniform_offsets(num_frames: int, clip_len: int) -> np.ndarray:
    """PyTorchVideo's `UniformTemporalSubsample`: `clip_len` of `num_frames` frames, evenly spread."""
    import torch

    idx = torch.linspace(0, num_frames - 1, clip_len)
    return torch.clamp(idx, 0, num_frames - 1).long().numpy()


def frames_in_seconds(seconds: float, fps: float) -> int:
    """How many frames of a `fps` video are shown in a `seconds` window that starts on a frame."""
    return max(int(math.ceil(seconds * fps - _EPS)), 1)
