"""Clip samplers: which frames of a video make each clip.

A sampler maps a video span (first frame, frame count, fps) to a list of ClipInfo, each holding
the exact frame numbers to decode. `frame_stride` is in frames at `target_fps` (the video's own
rate when None), so a 30 fps and a 25 fps video give clips that span the same time.

Short videos are looped: when a clip needs more frames than the video has, frame numbers wrap
around to the start of the span (0, 1, ..., n-1, 0, 1, ...), so every clip has `clip_len` frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class ClipInfo(NamedTuple):
    start: int  # first frame number (in the video)
    end: int  # last frame number, inclusive, before looping
    clip_index: int
    num_clips: int
    indices: tuple[int, ...]  # frame numbers to decode, length clip_len


def source_step(frame_stride: int, fps: float, target_fps: float | None) -> float:
    """Source frames between consecutive clip frames: `frame_stride` frames at `target_fps`."""
    return frame_stride * (fps / target_fps if target_fps else 1.0)


def clip_offsets(clip_len: int, step: float) -> np.ndarray:
    """(clip_len,) int64 frame offsets of a clip from its first frame: floor(i * step)."""
    return np.floor(np.arange(clip_len) * step + 1e-6).astype(np.int64)


@dataclass(frozen=True)
class Span:
    first: int  # first usable frame of the video (or segment)
    num_frames: int
    fps: float

    @classmethod
    def of(cls, record) -> "Span":
        return cls(record.first_frame, record.segment_frames, record.fps or 25.0)


@dataclass
class ClipSampler:
    """Base: clip geometry shared by all samplers."""

    clip_len: int = 16
    frame_stride: int = 1
    target_fps: float | None = None
    random: bool = False

    def step(self, fps: float) -> float:
        """Source frames between consecutive clip frames."""
        return source_step(self.frame_stride, fps, self.target_fps)

    def clip_span(self, fps: float) -> float:
        return (self.clip_len - 1) * self.step(fps) + 1

    def make(self, span: Span, offset: float, clip_index: int, num_clips: int) -> ClipInfo:
        rel = int(offset) + clip_offsets(self.clip_len, self.step(span.fps))
        rel = rel % max(span.num_frames, 1)  # loop short videos
        indices = tuple(int(span.first + r) for r in rel)
        return ClipInfo(indices[0], span.first + min(int(rel.max()), span.num_frames - 1), clip_index, num_clips, indices)

    def __call__(self, span: Span, rng: np.random.Generator | None = None) -> list[ClipInfo]:
        raise NotImplementedError


@dataclass
class RandomClipSampler(ClipSampler):
    """One clip at a uniformly random start: for training."""

    random: bool = True

    def __call__(self, span, rng=None):
        rng = rng or np.random.default_rng()
        # The last valid start puts the clip's last frame on the video's last frame: a 17-frame
        # video has two 16-frame clips (starts 0 and 1), and both must be drawn.
        last_offset = int(clip_offsets(self.clip_len, self.step(span.fps))[-1])
        last_start = span.num_frames - 1 - last_offset
        start = int(rng.integers(0, last_start + 1)) if last_start > 0 else 0
        return [self.make(span, start, 0, 1)]


@dataclass
class UniformClipSampler(ClipSampler):
    """`num_clips` clips spread evenly over the video: for testing."""

    num_clips: int = 10

    def __call__(self, span, rng=None):
        room = max(span.num_frames - self.clip_span(span.fps), 0.0)
        if self.num_clips == 1:
            offsets = [room / 2]
        else:
            offsets = np.linspace(0, room, self.num_clips)
        return [self.make(span, np.floor(o), i, self.num_clips) for i, o in enumerate(offsets)]


@dataclass
class TSNSampler(ClipSampler):
    """TSN: split the video into `clip_len` equal segments and take one frame from each
    (random in training, the centre in testing). One clip per video."""

    def __call__(self, span, rng=None):
        edges = np.linspace(0, span.num_frames, self.clip_len + 1)
        if self.random:
            rng = rng or np.random.default_rng()
            rel = [int(rng.integers(int(a), max(int(b), int(a) + 1))) for a, b in zip(edges[:-1], edges[1:])]
        else:
            rel = [int((a + b) / 2) for a, b in zip(edges[:-1], edges[1:])]
        rel = [min(r, span.num_frames - 1) for r in rel]
        indices = tuple(span.first + r for r in rel)
        return [ClipInfo(indices[0], indices[-1], 0, 1, indices)]


@dataclass
class FirstClipsSampler(ClipSampler):
    """The first `num_clips` consecutive, non-overlapping clips (fewer if the video is short)."""

    num_clips: int = 1

    def __call__(self, span, rng=None):
        length = self.clip_span(span.fps)
        count = max(1, min(self.num_clips, int(span.num_frames // length)))
        return [self.make(span, i * length, i, count) for i in range(count)]


@dataclass
class SlidingWindowSampler(ClipSampler):
    """Every window, `window_stride` source frames apart, covering the whole video: for inference.

    The last window is aligned to the end so no frame is left out."""

    window_stride: int = 8

    def __call__(self, span, rng=None):
        length = self.clip_span(span.fps)
        room = span.num_frames - length
        if room <= 0:
            return [self.make(span, 0, 0, 1)]
        offsets = list(np.arange(0, room + 1e-9, self.window_stride))
        if offsets[-1] < room:
            offsets.append(room)
        return [self.make(span, np.floor(o), i, len(offsets)) for i, o in enumerate(offsets)]


SAMPLERS = {"random": RandomClipSampler, "uniform": UniformClipSampler, "tsn": TSNSampler,
            "first": FirstClipsSampler, "sliding": SlidingWindowSampler}


def make_sampler(name: str, clip_len: int, frame_stride: int = 1, target_fps: float | None = None,
                 train: bool = False, **kwargs) -> ClipSampler:
    """A sampler by name: random | uniform | tsn | first | sliding."""
    from ..errors import ConfigError

    if name not in SAMPLERS:
        raise ConfigError(f"unknown sampler '{name}'; expected one of {', '.join(SAMPLERS)}")
    sampler = SAMPLERS[name](clip_len=clip_len, frame_stride=frame_stride, target_fps=target_fps, **kwargs)
    if name == "tsn":
        sampler.random = train
    return sampler
