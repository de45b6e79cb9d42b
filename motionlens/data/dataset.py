"""VideoClipDataset = index + sampler + decoder + transform.

Each item is one video: the sampler picks its clips, the decoder reads the union of their frames
in one pass, and the transform turns each clip into model input. When the weights' contract
resamples (`frame_rate`, torchvision's 15 fps) the sampler runs on the resampled video, whose
frames map to source frames by `resample_indices` over the file's frame times; with
`clip_seconds` (X3D) each clip spreads its frames evenly over that many seconds. A sample is a dict:

    {"video": float (K, C, T, H, W), "label": int, "video_index": int,
     "clip_index": int64 (K,), "failures": int}

K = clips x crops (1 in training). An undecodable video is logged once with its path and reason,
then replaced by another random video, up to `max_retries` times; `failures` counts the
replacements so the training loop can report them per epoch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from ..core.errors import MotionlensError, VideoError
from ..video import frame_times, read_clip
from .index import VideoIndex, VideoRecord
from .resample import frames_in_seconds, resample_indices, uniform_offsets
from .samplers import ClipInfo, ClipSampler, Span

log = logging.getLogger(__name__)

Decoder = Callable[[VideoRecord, list[int]], np.ndarray]  # -> uint8 (T, H, W, C)


def rgb_decoder(size: int | tuple[int, int] | None = None, max_damaged_fraction: float = 0.25) -> Decoder:
    """Decode RGB frames of a record as stored; `size` resizes while decoding (swscale for videos,
    OpenCV for frame folders), a speed option for weights whose contract allows it.

    Frames that corrupt data made undecodable hold the nearest good frame (`read_clip`); when more
    than `max_damaged_fraction` of the frames asked for are damaged, the read raises VideoError
    and the dataset drops the video for another, as for an unreadable one."""
    reported: set[str] = set()

    def decode(record: VideoRecord, indices: list[int]) -> np.ndarray:
        # An estimated frame count (no count in the container) may overshoot by a frame or two.
        clip = read_clip(record.path, indices, size=size, clamp=record.frames_estimated)
        damaged = int(clip.damaged.sum())
        if damaged > max_damaged_fraction * len(indices):
            raise VideoError(record.path, f"{damaged} of {len(indices)} frames of the clip damaged "
                                          f"(limit data.max_damaged_fraction={max_damaged_fraction})")
        if damaged and record.path not in reported:
            reported.add(record.path)
            log.warning("%s: using clips with damaged frames (%d of %d here), filled with the nearest good frame",
                        record.path, damaged, len(indices))
        return clip.frames

    return decode


class VideoClipDataset(Dataset):
    def __init__(self, index: VideoIndex, sampler: ClipSampler, transform: Callable[[np.ndarray], torch.Tensor],
                 decoder: Decoder | None = None, max_retries: int = 10, seed: int = 0,
                 frame_rate: float | None = None, clip_seconds: float | None = None):
        if len(index) == 0:
            raise MotionlensError("the dataset split is empty: no readable videos to load")
        self.index = index
        self.sampler = sampler
        self.transform = transform
        self.decoder = decoder or rgb_decoder()
        self.max_retries = max_retries
        self.seed = seed
        self.frame_rate = frame_rate  # resample videos to this rate first (the sampler then runs at it)
        self.clip_seconds = clip_seconds  # PyTorchVideo clips: sampler.clip_len frames spread over this
        self._reported: set[str] = set()

    def __len__(self) -> int:
        return len(self.index)

    def _rng(self, i: int) -> np.random.Generator:
        # Random samplers draw from torch's generator (seeded per sample by `EpochSampler`), as
        # the random transforms do; fixed samplers ignore it.
        return np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())) if self.sampler.random else self.seed + i)

    def load(self, i: int) -> dict:
        """Decode and transform video `i` (raises VideoError when it cannot be read)."""
        record = self.index[i]
        clips = self.clips(record, self._rng(i))
        wanted = sorted({f for c in clips for f in c.indices})
        frames = self.decoder(record, wanted)  # (N, H, W, C) uint8, one decode pass for all clips
        pos = {f: k for k, f in enumerate(wanted)}
        tensors = []
        for clip in clips:
            take = [pos[f] for f in clip.indices]
            # One clip of distinct frames (training) is the decoded array itself: no copy of it.
            x = self.transform(frames if take == list(range(len(frames))) else frames[take])
            # x: (C, T, H, W) or (crops, C, T, H, W)
            tensors.append(x if x.ndim == 5 else x.unsqueeze(0))
        video = torch.cat(tensors)  # (K, C, T, H, W)
        crops = video.shape[0] // len(clips)
        clip_index = torch.tensor([c.clip_index for c in clips for _ in range(crops)], dtype=torch.int64)
        return {"video": video, "label": record.label, "video_index": i, "clip_index": clip_index}

    def clips(self, record: VideoRecord, rng: np.random.Generator) -> list[ClipInfo]:
        """The sampler's clips of `record`, in source frame numbers, after the contract's timing."""
        span = Span.of(record)
        if self.frame_rate:
            grid = span.first + resample_indices(record_times(record), self.frame_rate)  # (K,) source frames
            sampler = replace(self.sampler, target_fps=None)
            clips = sampler(Span(0, len(grid), self.frame_rate), rng)
            return [_mapped(c, grid[list(c.indices)], grid[c.start], grid[c.end]) for c in clips]
        if self.clip_seconds:
            window = frames_in_seconds(self.clip_seconds, span.fps)
            sampler = replace(self.sampler, clip_len=window, frame_stride=1, target_fps=None)
            picks = uniform_offsets(window, self.sampler.clip_len)
            return [_mapped(c, np.asarray(c.indices)[picks], c.start, c.end) for c in sampler(span, rng)]
        return self.sampler(span, rng)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """Video `key`, or `(video, seed)` from `EpochSampler`: the clip and augmentation are then
        drawn from that seed alone, leaving the process's own random state as it was."""
        if isinstance(key, tuple):
            i, seed = key
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self._get(i)
        return self._get(key)

    def _get(self, i: int) -> dict:
        failures = 0
        rng = np.random.default_rng(self.seed + i)
        candidate = i
        while True:
            try:
                sample = self.load(candidate)
                sample["failures"] = failures
                return sample
            except VideoError as err:
                failures += 1
                if err.path not in self._reported:
                    self._reported.add(err.path)
                    log.warning("skipping undecodable video %s: %s", err.path, err.reason)
                if failures > self.max_retries:
                    raise MotionlensError(f"{failures} undecodable videos in a row (last: {err}); "
                                          "run `motionlens data check` on the dataset") from None
                candidate = int(rng.integers(len(self.index)))


def record_times(record: VideoRecord) -> np.ndarray:
    """`(segment_frames,)` display times of a record's frames in seconds (frame folders: at `record.fps`)."""
    if os.path.isfile(record.path):
        times = frame_times(record.path)[record.first_frame: record.first_frame + record.segment_frames]
        if len(times):
            return times
    return np.arange(record.segment_frames, dtype=np.float64) / (record.fps or 25.0)


def _mapped(clip: ClipInfo, indices: np.ndarray, start: int, end: int) -> ClipInfo:
    return clip._replace(start=int(start), end=int(end), indices=tuple(int(i) for i in indices))
