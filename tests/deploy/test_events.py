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


@pytest.mark.parametrize("window", [2, 3, 4, 5, 8])
def test_causal_smoothing_lags_centred_by_half_a_window_on_a_step(window):
    step = np.array([[0.0, 1.0]] * 20 + [[1.0, 0.0]] * 20)  # class 0 switches on at window 20
    centred, causal = smooth_scores(step, window)[:, 0], smooth_scores(step, window, causal=True)[:, 0]
    lag = window // 2
    assert np.allclose(causal[window - 1:], centred[window - 1 - lag: 40 - lag])  # the same curve, `lag` later
    assert np.allclose(causal[:window - 1], [step[: i + 1, 0].mean() for i in range(window - 1)])  # only the past
    assert int(np.argmax(causal >= 0.5)) - int(np.argmax(centred >= 0.5)) == lag
    # and the events built on them: the causal one starts `lag` segments (of 0.5 s) later
    segments = [(i * 0.5, i * 0.5 + 0.5, s) for i, s in enumerate(step)]
    (offline,) = events(segments, 0.5, ["on", "off"], classes=["on"], smooth=window)
    (live,) = events(segments, 0.5, ["on", "off"], classes=["on"], smooth=window, causal=True)
    assert live["start_sec"] - offline["start_sec"] == pytest.approx(lag * 0.5)
    assert offline["end_sec"] == live["end_sec"] == 20.0


def test_min_duration_is_confirmed_live_and_filters_offline_alike():
    tracker = EventTracker(["a"], threshold=0.5, min_duration=2.0)
    steps = [tracker.step(float(t), t + 1.0, np.array([s])) for t, s in enumerate([0.9, 0.9, 0.9, 0.2, 0.9, 0.2])]
    started, ended = zip(*steps)
    assert started[1] == [{"label": "a", "start_sec": 0.0, "time_sec": 2.0, "score": 0.9}]  # lasted 2 s at t=2
    assert [bool(s) for s in started] == [False, True, False, False, False, False]  # the 1 s one never starts
    assert ended[3] == [{"label": "a", "start_sec": 0.0, "end_sec": 3.0, "peak_score": 0.9}] and not ended[5]


def test_stream_alerts_are_the_offline_machine_run_causally():
    """watch's alerts and predict's events are one state machine: the alerts of a StreamWatcher
    (causal smoothing) are exactly the events of `events(..., causal=True)` on the same scores."""
    from motionlens.deploy.watch import AlertRule, StreamWatcher
    from motionlens.video import Frame

    rng = np.random.default_rng(3)
    level = np.r_[np.full(10, 0.2), np.full(15, 0.9), np.full(8, 0.1), np.full(3, 0.95), np.full(10, 0.3),
                  np.full(12, 0.85), np.full(10, 0.1)]
    a = np.clip(level + rng.normal(0, 0.08, len(level)), 0, 1)
    scores = np.stack([a, 1 - a], axis=1)  # (W, 2)
    fps, window_stride, span, smooth = 25.0, 4, 8, 3
    feed = iter(scores)
    seen = []
    watcher = StreamWatcher(lambda clip: next(feed), ["a", "b"], rel=range(span), window_stride=window_stride,
                            rules=[AlertRule.parse("a:0.6:0.5s")], on_event=seen.append, fps=fps, smooth=smooth,
                            clock=lambda: 0.0, sleep=lambda s: None)
    frames = [Frame(i, i / fps, np.zeros((1, 1, 1), np.uint8)) for i in range((len(scores) - 1) * window_stride + span)]
    summary = watcher.run(frames)
    assert summary["windows"] == len(scores)
    alerts = [e for e in seen if e["event"] == "alert"]
    ends = [e for e in seen if e["event"] == "alert_end"]
    times = [(i * window_stride + span - 1) / fps for i in range(len(scores))]  # each window's last frame
    offline = events([(t, t, s) for t, s in zip(times, scores)], 0.6, ["a", "b"], min_duration=0.5,
                     classes=["a"], smooth=smooth, causal=True)
    assert len(offline) == 2  # the 3-window blip is too short for 0.5 s
    assert [(e["start_sec"], e["end_sec"], e["peak_score"]) for e in ends] == [
        (round(e["start_sec"], 6), round(e["end_sec"], 6), round(e["peak_score"], 6)) for e in offline]
    assert [e["start_sec"] for e in alerts] == [round(e["start_sec"], 6) for e in offline]
    assert all(e["time_sec"] - e["start_sec"] >= 0.5 - 1e-6 for e in alerts)
    centred = events([(t, t, s) for t, s in zip(times, scores)], 0.6, ["a", "b"], min_duration=0.5,
                     classes=["a"], smooth=smooth)
    assert [e["start_sec"] for e in centred] != [e["start_sec"] for e in offline]  # the modes do differ
