"""Clip samplers: which frames of a video make each clip.

A sampler maps a video span (first frame, frame count, fps) to a list of ClipInfo, each holding
the exact frame numbers to decode, `frame_stride` frames apart. Samplers work on frame numbers
only: resampling to the weights' frame rate and clips that span seconds are the InputSpec's
(`data.spec`), which runs a sampler on the resampled video.

Short videos are looped: when a clip needs more frames than the video has, frame numbers wrap
around to the start of the span (0, 1, ..., n-1, 0, 1, ...), so every clip has `clip_len` frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np


class ClipInfo(NamedTuple):
    start: int  # first frame number (in the video)
    end: int  # last frame number, inclusive, before looping
    clip_index: int
    num_clips: int
    indices: tuple[int, ...]  # frame numbers to decode, length clip_len


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
    random: bool = False

    def clip_span(self) -> int:
        """Frames from a clip's first to its last, inclusive."""
        return (self.clip_len - 1) * self.frame_stride + 1

    def make(self, span: Span, offset: float, clip_index: int, num_clips: int) -> ClipInfo:
        rel = int(offset) + clip_offsets(self.clip_len, self.frame_stride)
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
        last_start = span.num_frames - self.clip_span()
        start = int(rng.integers(0, last_start + 1)) if last_start > 0 else 0
        return [self.make(span, start, 0, 1)]


@dataclass
class UniformClipSampler(ClipSampler):
    """`num_clips` clips spread evenly over the video: for testing."""

    num_clips: int = 10

    def __call__(self, span, rng=None):
        room = float(max(span.num_frames - self.clip_span(), 0))
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


class Window(NamedTuple):
    start: int  # first frame number (since the windows began or were restarted)
    end: int  # last frame number read, inclusive
    indices: tuple[int, ...]  # the clip's frame numbers, length clip_len
    frames: tuple[Any, ...]  # what was pushed for each of `indices` (images, Frames; None when only planning)


class SlidingWindows:
    """The one sliding windowing: whole files (predict) and live streams (watch), planned by the
    InputSpec (`file_windows`, `stream_windows`).

    Frames are pushed one at a time and a window is returned as soon as its last frame arrives,
    holding at most one window span of frames. Window starts are 0, window_stride,
    2*window_stride, ...; a window's frame numbers are `start + offsets` (`offsets`: a clip's
    frame offsets from its first frame, e.g. `clip_offsets(clip_len, step)`, so a resampled
    source gives floor(i * step)). `finish` (the end of a file) adds one window aligned to the
    last frame when the regular ones stop short of it, or, for a video shorter than one window,
    a single window that loops the video. A live stream never finishes; `restart` (after a gap)
    drops what is held and starts the windows again at the next frame."""

    def __init__(self, offsets: Sequence[int], window_stride: int):
        self.rel = np.asarray(offsets, dtype=np.int64)  # (T,)
        if len(self.rel) < 1 or self.rel[0] < 0 or np.any(np.diff(self.rel) < 0) or window_stride < 1:
            raise ValueError(f"need non-decreasing offsets from >= 0 and window_stride >= 1; "
                             f"got {list(self.rel)}, {window_stride}")
        self.span = int(self.rel[-1]) + 1  # frames from a window's first to its last, inclusive
        self.window_stride = int(window_stride)
        self.buffer: deque[Any] = deque(maxlen=self.span)
        self.max_buffered = 0  # the most frames ever held: never above `span`
        self.count = 0  # frames pushed since the (re)start
        self.next_start = 0
        self.last_start: int | None = None

    def restart(self) -> None:
        self.buffer.clear()
        self.count, self.next_start, self.last_start = 0, 0, None

    def push(self, frame: Any = None) -> list[Window]:
        self.buffer.append(frame)
        self.count += 1
        self.max_buffered = max(self.max_buffered, len(self.buffer))
        out = []
        while self.next_start + self.span <= self.count:
            out.append(self._window(self.next_start, self.next_start + self.rel))
            self.last_start = self.next_start
            self.next_start += self.window_stride
        return out

    def finish(self) -> list[Window]:
        n = self.count
        if n == 0:
            return []
        if self.last_start is None:  # shorter than one window: loop it, as ClipSampler.make does
            self.last_start = 0
            return [self._window(0, self.rel % n)]
        end_start = n - self.span
        if end_start > self.last_start:
            self.last_start = end_start
            return [self._window(end_start, end_start + self.rel)]
        return []

    def _window(self, start: int, indices: np.ndarray) -> Window:
        base = self.count - len(self.buffer)  # frame number of buffer[0]
        frames = tuple(self.buffer[int(i) - base] for i in indices)
        return Window(start, int(min(indices.max(), self.count - 1)), tuple(int(i) for i in indices), frames)


SAMPLERS = {"random": RandomClipSampler, "uniform": UniformClipSampler, "tsn": TSNSampler}


def make_sampler(name: str, clip_len: int, frame_stride: int = 1, train: bool = False, **kwargs) -> ClipSampler:
    """A sampler by name: random | uniform | tsn."""
    from ..core.errors import ConfigError

    if name not in SAMPLERS:
        raise ConfigError(f"unknown sampler '{name}'; expected one of {', '.join(SAMPLERS)}")
    sampler = SAMPLERS[name](clip_len=clip_len, frame_stride=frame_stride, **kwargs)
    if name == "tsn":
        sampler.random = train
    return sampler
