"""VideoClipDataset = index + sampler + decoder + transform.

Each item is one video: the sampler picks its clips, the decoder reads the union of their frames
in one pass, and the transform turns each clip into model input. Which frames a clip takes under
the weights' timing (resampling, X3D's clip seconds) is the InputSpec's (`InputSpec.clips`);
without a spec the sampler runs on the video's own frames. A sample is a dict:

    {"video": float (K, C, T, H, W), "label": int, "video_index": int,
     "clip_index": int64 (K,), "failures": int}

K = clips x crops (1 in training). An undecodable video is logged once with its path and reason,
then replaced by another random video, up to `max_retries` times; `failures` counts the
replacements so the training loop can report them per epoch.
"""

from __future__ import annotations

import logging
from typing import Callable, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from ..core.errors import MotionlensError, VideoError
from ..video import read_clip
from .index import VideoIndex, VideoRecord
from .loader import sample_seed
from .samplers import ClipInfo, ClipSampler, Span

log = logging.getLogger(__name__)

Decoder = Callable[[VideoRecord, list[int]], np.ndarray]  # -> uint8 (T, H, W, C)


class ClipTiming(Protocol):
    """What chooses a sampler's clips of a record under the weights' timing: an `InputSpec`."""

    def clips(self, sampler: ClipSampler, record: VideoRecord, rng: np.random.Generator | None) -> list[ClipInfo]: ...


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
                 spec: ClipTiming | None = None):
        if len(index) == 0:
            raise MotionlensError("the dataset split is empty: no readable videos to load")
        self.index = index
        self.sampler = sampler
        self.transform = transform
        self.decoder = decoder or rgb_decoder()
        self.max_retries = max_retries
        self.seed = seed
        self.spec = spec  # the weights' timing the sampler runs under; None = the video's own frames
        self._reported: set[str] = set()

    def __len__(self) -> int:
        return len(self.index)

    def _rng(self, i: int) -> np.random.Generator:
        # Random samplers draw from torch's generator (seeded per sample by `EpochSampler`), as
        # the random transforms do; fixed samplers ignore it.
        return np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())) if self.sampler.random
                                     else sample_seed(self.seed, i))

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
        """The sampler's clips of `record`, in source frame numbers (`InputSpec.clips`)."""
        if self.spec is None:
            return self.sampler(Span.of(record), rng)
        return self.spec.clips(self.sampler, record, rng)

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
        rng = np.random.default_rng(sample_seed(self.seed, i))  # the replacements of video i
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
