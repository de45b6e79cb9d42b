"""From per-window class scores to smoothed scores and events.

Scores arrive one window at a time, in time order, as `(K,)` vectors (softmax over K classes).
Everything here works on that stream, so predict (offline, long videos) and watch (live) share
it: `moving_average` smooths with a bounded look-ahead, `Hysteresis` says when a class is on,
`EventTracker` turns stretches of "on" into events, and `events` does it for a finished list.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np


def moving_average(scores: Iterable[np.ndarray], window: int) -> Iterator[np.ndarray]:
    """Centred moving average over `window` consecutive score vectors; at the ends, the mean of
    those that exist. Streams: holds `window` vectors, yields each one `window // 2` vectors late."""
    if window <= 1:
        yield from scores
        return
    before, after = (window - 1) // 2, window // 2
    held: deque[np.ndarray] = deque(maxlen=before + after + 1)
    count = 0  # vectors received so far; held[0] is vector number count - len(held)

    def mean(centre: int) -> np.ndarray:
        base = count - len(held)
        first, stop = max(0, centre - before), min(count, centre + after + 1)
        return np.mean(list(held)[first - base: stop - base], axis=0)

    for vector in scores:
        held.append(np.asarray(vector, dtype=np.float64))
        count += 1
        if count - 1 - after >= 0:
            yield mean(count - 1 - after)  # its last neighbour just arrived
    for centre in range(max(count - after, 0), count):
        yield mean(centre)


def smooth_scores(scores: np.ndarray, window: int) -> np.ndarray:
    """`moving_average` of a `(W, K)` array of window scores; returns `(W, K)`."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return scores
    return np.stack(list(moving_average(scores, window)))


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
    """Turns a stream of `(start_sec, end_sec, scores)` into events, one per contiguous stretch in
    which a class is on (see `Hysteresis`). An event is `{"label", "start_sec", "end_sec",
    "peak_score"}`; stretches shorter than `min_duration` seconds are dropped."""

    def __init__(self, labels: Sequence[str], threshold: float, off_threshold: float | None = None,
                 min_duration: float = 0.0, classes: Iterable[str] | None = None):
        self.labels = list(labels)
        self.hysteresis = Hysteresis(threshold, off_threshold)
        self.min_duration = min_duration
        self.watched = None if classes is None else np.isin(self.labels, list(classes))
        self.open: dict[int, dict] = {}  # class index -> event in progress

    def update(self, start_sec: float, end_sec: float, scores: np.ndarray) -> list[dict]:
        """Feed one segment; returns the events that ended before it."""
        on = self.hysteresis(scores)
        if self.watched is not None:
            on &= self.watched
        finished = []
        for k in list(self.open):
            if not on[k]:
                finished.append(self.open.pop(k))
        for k in np.flatnonzero(on):
            event = self.open.get(int(k))
            if event is None:
                self.open[int(k)] = {"label": self.labels[k], "start_sec": float(start_sec),
                                     "end_sec": float(end_sec), "peak_score": float(scores[k])}
            else:
                event["end_sec"] = float(end_sec)
                event["peak_score"] = max(event["peak_score"], float(scores[k]))
        return self._keep(finished)

    def close(self) -> list[dict]:
        """End of the stream: the events still open, ended at their last segment."""
        finished, self.open = list(self.open.values()), {}
        return self._keep(finished)

    def _keep(self, events: list[dict]) -> list[dict]:
        kept = [e for e in events if e["end_sec"] - e["start_sec"] >= self.min_duration]
        return sorted(kept, key=lambda e: (e["start_sec"], e["label"]))


def events(segments_scores: Iterable[tuple[float, float, Sequence[float]]], threshold: float,
           labels: Sequence[str], off_threshold: float | None = None, min_duration: float = 0.0,
           classes: Iterable[str] | None = None) -> list[dict]:
    """Events from `(start_sec, end_sec, scores (K,))` segments in time order, sorted by start.

    A class is on from the first segment with `score >= threshold` until the first segment with
    `score < off_threshold` (default `threshold`); each stretch of "on" is one event
    `{"label", "start_sec", "end_sec", "peak_score"}`. `classes` limits which labels count."""
    tracker = EventTracker(labels, threshold, off_threshold, min_duration, classes)
    found: list[dict] = []
    for start, end, scores in segments_scores:
        found += tracker.update(start, end, np.asarray(scores, dtype=np.float64))
    found += tracker.close()
    return sorted(found, key=lambda e: (e["start_sec"], e["label"]))
