"""From per-window class scores to smoothed scores and events: one state machine for files and streams.

Scores arrive one window at a time, in time order, as `(K,)` vectors (softmax over K classes).
`MovingAverage` smooths them, centred for a finished file (each vector waits `window // 2`
vectors for its look-ahead) or causal for a live stream (the mean of the last `window`, known at
once). `Hysteresis` says when a class is on, and `EventTracker` turns stretches of "on" into
events: predict's `events` (offline, centred) and watch's alerts (causal) both run it.

On a step input the causal mean is the centred one `window // 2` windows late: the causal mean
at window i averages windows i-window+1..i, which is the centred mean at i - window // 2.
Writing events out and delivering alerts to a webhook is `webhook.EventSink`'s job.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np


class MovingAverage:
    """Moving average over `window` consecutive score vectors; at the ends, the mean of those that
    exist. Centred (`causal=False`): each vector is answered once its `window // 2` successors have
    arrived, and `finish` answers the last ones. Causal: the mean of this vector and the
    `window - 1` before it, answered at once. Holds at most `window` vectors."""

    def __init__(self, window: int, causal: bool = False):
        self.window, self.causal = max(1, int(window)), causal
        self.before = self.window - 1 if causal else (self.window - 1) // 2
        self.after = 0 if causal else self.window // 2
        self.held: deque[np.ndarray] = deque(maxlen=self.before + self.after + 1)
        self.count = 0  # vectors received so far; held[0] is vector number count - len(held)

    def push(self, vector: np.ndarray) -> list[np.ndarray]:
        """Add one `(K,)` vector; returns the smoothed vectors now known (at most one)."""
        self.held.append(np.asarray(vector, dtype=np.float64))
        self.count += 1
        centre = self.count - 1 - self.after
        return [self._mean(centre)] if centre >= 0 else []

    def finish(self) -> list[np.ndarray]:
        """The end of the scores: the vectors still waiting for look-ahead."""
        return [self._mean(c) for c in range(max(self.count - self.after, 0), self.count)]

    def _mean(self, centre: int) -> np.ndarray:
        base = self.count - len(self.held)
        first, stop = max(0, centre - self.before), min(self.count, centre + self.after + 1)
        return np.mean(list(self.held)[first - base: stop - base], axis=0)


def moving_average(scores: Iterable[np.ndarray], window: int, causal: bool = False) -> Iterator[np.ndarray]:
    """`MovingAverage` over a stream of score vectors, yielded as soon as each is known."""
    smoother = MovingAverage(window, causal)
    for vector in scores:
        yield from smoother.push(vector)
    yield from smoother.finish()


def smooth_scores(scores: np.ndarray, window: int, causal: bool = False) -> np.ndarray:
    """`moving_average` of a `(W, K)` array of window scores; returns `(W, K)`."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return scores
    return np.stack(list(moving_average(scores, window, causal)))


@dataclass
class Hysteresis:
    """Per-class on/off state: a class turns on at `score >= on` and off only at `score < off`.

    `off` defaults to `on` (a plain threshold); `off < on` keeps a class from flickering while
    its score hovers around the threshold."""

    on: float
    off: float | None = None
    state: np.ndarray | None = field(default=None, repr=False)  # (K,) bool

    def __post_init__(self) -> None:
        if self.off is None:
            self.off = self.on
        if self.off > self.on:
            raise ValueError(f"the off threshold ({self.off}) must not exceed the on threshold ({self.on})")

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        """Update with one `(K,)` score vector; returns the `(K,)` bool on-state."""
        scores = np.asarray(scores)
        if self.state is None:
            self.state = np.zeros(scores.shape, dtype=bool)
        self.state = np.where(self.state, scores >= self.off, scores >= self.on)
        return self.state.copy()


class EventTracker:
    """The events state machine: `(start_sec, end_sec, scores)` segments in, events out.

    Per class (see `Hysteresis`): a stretch of "on" starts at the start of its first segment. It
    becomes an event once it has lasted `min_duration` seconds (from that start to the end of a
    segment still on), which `step` reports at once as `started` (a live alert). It ends at the
    start of the first segment that is off or the end of the last one on, whichever is later
    (the same time when segments tile the timeline, as predict's do; the off window's time for
    watch's point segments), or at `close` with the end of its last segment; `step` then reports
    it in `ended`
    as `{"label", "start_sec", "end_sec", "peak_score"}`. Stretches that never reach
    `min_duration` are dropped. `smooth` > 1 first smooths the scores (`MovingAverage`; `causal`
    for a stream): centred smoothing answers each segment `smooth // 2` segments late."""

    def __init__(self, labels: Sequence[str], threshold: float, off_threshold: float | None = None,
                 min_duration: float = 0.0, classes: Iterable[str] | None = None, smooth: int = 1,
                 causal: bool = False):
        self.labels = list(labels)
        self.hysteresis = Hysteresis(threshold, off_threshold)
        self.min_duration = min_duration
        self.watched = None if classes is None else np.isin(self.labels, list(classes))
        self.smoother = MovingAverage(smooth, causal) if smooth > 1 else None
        self.waiting: deque[tuple[float, float]] = deque()  # segment times waiting for their smoothed scores
        self.open: dict[int, dict] = {}  # class index -> stretch in progress
        self.confirmed: set[int] = set()  # classes whose open stretch has lasted min_duration

    def step(self, start_sec: float, end_sec: float, scores: np.ndarray) -> tuple[list[dict], list[dict]]:
        """Feed one segment; returns `(started, ended)`: the events that just reached `min_duration`
        (`{"label", "start_sec", "time_sec", "score"}`: `time_sec` the end of this segment) and those
        that just ended."""
        if self.smoother is None:
            return self._apply(float(start_sec), float(end_sec), np.asarray(scores, dtype=np.float64))
        self.waiting.append((float(start_sec), float(end_sec)))
        started, ended = [], []
        for smoothed in self.smoother.push(scores):
            a, b = self._apply(*self.waiting.popleft(), smoothed)
            started, ended = started + a, ended + b
        return started, ended

    def update(self, start_sec: float, end_sec: float, scores: np.ndarray) -> list[dict]:
        """Feed one segment; returns the events that ended before it."""
        return self.step(start_sec, end_sec, scores)[1]

    def close(self) -> list[dict]:
        """End of the stream: the events still open, ended at their last segment."""
        ended = []
        if self.smoother is not None:
            for smoothed in self.smoother.finish():
                ended += self._apply(*self.waiting.popleft(), smoothed)[1]
        finished = [e for k, e in self.open.items() if k in self.confirmed]
        self.open, self.confirmed = {}, set()
        return ended + self._sorted(finished)

    def _apply(self, start_sec: float, end_sec: float, scores: np.ndarray) -> tuple[list[dict], list[dict]]:
        on = self.hysteresis(scores)
        if self.watched is not None:
            on &= self.watched
        ended = []
        for k in list(self.open):
            if not on[k]:
                event = self.open.pop(k)
                event["end_sec"] = max(event["end_sec"], min(start_sec, end_sec))  # the first segment off
                if k in self.confirmed:
                    self.confirmed.discard(k)
                    ended.append(event)
        started = []
        for k in map(int, np.flatnonzero(on)):
            event = self.open.get(k)
            if event is None:
                event = self.open[k] = {"label": self.labels[k], "start_sec": start_sec, "end_sec": end_sec,
                                        "peak_score": float(scores[k])}
            else:
                event["end_sec"] = end_sec
                event["peak_score"] = max(event["peak_score"], float(scores[k]))
            if k not in self.confirmed and end_sec - event["start_sec"] >= self.min_duration - 1e-9:
                self.confirmed.add(k)
                started.append({"label": event["label"], "start_sec": event["start_sec"], "time_sec": end_sec,
                                "score": float(scores[k])})
        return self._sorted(started), self._sorted(ended)

    @staticmethod
    def _sorted(events: list[dict]) -> list[dict]:
        return sorted(events, key=lambda e: (e["start_sec"], e["label"]))


def events(segments_scores: Iterable[tuple[float, float, Sequence[float]]], threshold: float,
           labels: Sequence[str], off_threshold: float | None = None, min_duration: float = 0.0,
           classes: Iterable[str] | None = None, smooth: int = 1, causal: bool = False) -> list[dict]:
    """Events from `(start_sec, end_sec, scores (K,))` segments in time order, sorted by start.

    A class is on from the first segment with `score >= threshold` until the first segment with
    `score < off_threshold` (default `threshold`); each stretch of "on" lasting `min_duration` is
    one event `{"label", "start_sec", "end_sec", "peak_score"}`. `classes` limits which labels
    count; `smooth`/`causal` smooth the scores first (see `EventTracker`)."""
    tracker = EventTracker(labels, threshold, off_threshold, min_duration, classes, smooth, causal)
    found: list[dict] = []
    for start, end, scores in segments_scores:
        found += tracker.update(start, end, np.asarray(scores, dtype=np.float64))
    found += tracker.close()
    return sorted(found, key=lambda e: (e["start_sec"], e["label"]))
