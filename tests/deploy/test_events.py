"""Score smoothing, hysteresis and events."""

from __future__ import annotations

import numpy as np
import pytest

from motionlens.deploy.events import EventTracker, Hysteresis, events, moving_average, smooth_scores


@pytest.mark.parametrize("window", [1, 2, 3, 4, 5, 12])
def test_moving_average_is_centred_and_streams(window):
    scores = np.random.default_rng(0).random((9, 3))
    before, after = (window - 1) // 2, window // 2
    expected = np.stack([scores[max(0, i - before): i + after + 1].mean(axis=0) for i in range(9)])
    assert np.allclose(smooth_scores(scores, window), expected)
    # streaming: each output needs only `after` vectors of look-ahead
    seen = []

    def source():
        for row in scores:
            seen.append(1)
            yield row

    out = moving_average(source(), window)
    first = next(out)
    assert len(seen) == min(after + 1, 9) and np.allclose(first, expected[0])


def test_hysteresis_keeps_a_class_on_between_thresholds():
    h = Hysteresis(on=0.7, off=0.4)
    states = [bool(h(np.array([s]))[0]) for s in (0.5, 0.8, 0.6, 0.45, 0.3, 0.6, 0.75)]
    assert states == [False, True, True, True, False, False, True]
    with pytest.raises(ValueError):
        Hysteresis(on=0.4, off=0.7)


def test_events_are_contiguous_stretches_above_threshold():
    labels = ["walk", "run"]
    run = [0.1, 0.6, 0.9, 0.7, 0.2, 0.2, 0.8, 0.3]
    segments = [(i * 1.0, i + 1.0, np.array([1 - r, r])) for i, r in enumerate(run)]
    found = events(segments, 0.5, labels)
    run_events = [e for e in found if e["label"] == "run"]
    assert run_events == [
        {"label": "run", "start_sec": 1.0, "end_sec": 4.0, "peak_score": 0.9},
        {"label": "run", "start_sec": 6.0, "end_sec": 7.0, "peak_score": 0.8},
    ]
    walk = [e for e in found if e["label"] == "walk"]
    assert [(e["start_sec"], e["end_sec"]) for e in walk] == [(0.0, 1.0), (4.0, 6.0), (7.0, 8.0)]
    # hysteresis merges the dip at 0.2 only if off is below it; min_duration drops short ones
    merged = events(segments, 0.5, labels, off_threshold=0.15, classes=["run"])
    assert [(e["start_sec"], e["end_sec"]) for e in merged] == [(1.0, 8.0)]
    long_only = events(segments, 0.5, labels, min_duration=2.0, classes=["run"])
    assert [(e["start_sec"], e["end_sec"]) for e in long_only] == [(1.0, 4.0)]


def test_tracker_reports_events_as_they_end():
    tracker = EventTracker(["a"], threshold=0.5)
    assert tracker.update(0, 1, np.array([0.9])) == []
    assert tracker.update(1, 2, np.array([0.95])) == []
    ended = tracker.update(2, 3, np.array([0.1]))
    assert ended == [{"label": "a", "start_sec": 0.0, "end_sec": 2.0, "peak_score": 0.95}]
    assert tracker.update(3, 4, np.array([0.6])) == []
    assert tracker.close() == [{"label": "a", "start_sec": 3.0, "end_sec": 4.0, "peak_score": 0.6}]
