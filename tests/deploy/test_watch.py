"""Live watching: alert rules and their timing, bounded lag, reconnection, webhooks, the CLI end to end."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from motionlens.data.spec import InputSpec
from motionlens.deploy.watch import (
    AlertRule,
    AlertTracker,
    StreamWatcher,
    parse_duration,
    reconnecting_frames,
)
from motionlens.core.errors import MotionlensError, VideoError
from motionlens.deploy.webhook import EventSink
from motionlens.models import create_model
from motionlens.training.checkpoint import save_checkpoint
from motionlens.video import Frame, write_video
from tests.conftest import run_cli

FPS = 25.0


class FakeClock:
    """Time that moves only when slept on or advanced: nothing in these tests really waits."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


def action_frames(seconds: float, intervals: list[tuple[float, float]]):
    """Frames whose single pixel is 1 while the action happens (time in one of `intervals`), else 0."""
    for i in range(int(seconds * FPS)):
        t = i / FPS
        yield Frame(i, t, np.full((1, 1, 1), any(a <= t < b for a, b in intervals), dtype=np.uint8))


def fight_score(clip: np.ndarray) -> np.ndarray:
    share = float(clip.mean())  # fraction of the window's frames showing the action
    return np.array([share, 1.0 - share])


def test_alert_rule_parsing():
    assert AlertRule.parse("fight:0.8:2s") == AlertRule("fight", 0.8, 2.0)
    assert AlertRule.parse("punching person (boxing):0.5:500ms") == AlertRule("punching person (boxing)", 0.5, 0.5)
    assert AlertRule.parse("ns:fight:0.7:1s") == AlertRule("ns:fight", 0.7, 1.0)  # colons in labels survive
    assert AlertRule.parse("fight:0.7") == AlertRule("fight", 0.7, 0.0)
    assert parse_duration("1.5m") == 90.0
    for bad in ("fight", "fight:high:2s", "fight:1.5:2s", ":0.5:1s"):
        with pytest.raises(MotionlensError, match="alert rule"):
            AlertRule.parse(bad)
    with pytest.raises(MotionlensError, match="no class 'figth'.*fight"):
        AlertTracker([AlertRule("figth", 0.5)], ["fight", "other"])


def test_alert_fires_once_per_stretch_in_the_right_interval():
    clock = FakeClock()
    events: list[dict] = []
    # fight from 8 to 14 s, a 1 s blip at 16 s (too short for 2 s), fight again from 19 to 23 s
    intervals = [(8.0, 14.0), (16.0, 17.0), (19.0, 23.0)]
    watcher = StreamWatcher(fight_score, ["fight", "other"], rel=range(8), window_stride=4,
                            rules=[AlertRule.parse("fight:0.8:2s")], on_event=events.append,
                            clock=clock, sleep=clock.sleep, pace=True, fps=FPS)
    summary = watcher.run(action_frames(30.0, intervals))
    alerts = [e for e in events if e["event"] == "alert"]
    ends = [e for e in events if e["event"] == "alert_end"]
    assert len(alerts) == 2 and len(ends) == 2
    window, window_stride = 8 / FPS, 4 / FPS
    for alert, end, (a, b) in zip(alerts, ends, [intervals[0], intervals[2]]):
        assert a <= alert["start_sec"] <= a + window  # the first window mostly inside the action
        assert a + 2.0 <= alert["time_sec"] <= a + 2.0 + window + window_stride  # fired once 2 s had passed
        assert b <= end["end_sec"] <= b + window  # re-armed when the action stopped
        assert alert["score"] >= 0.8
    assert summary["alerts"] == 2 and summary["dropped_frames"] == 0
    assert clock.now == pytest.approx(30.0 - 1 / FPS)  # paced: played in (fake) real time, not faster
    assert summary["rtf"] > 1000  # the fake clock spent nothing but sleeping


def test_rule_without_duration_and_hysteresis_rearm():
    tracker = AlertTracker([AlertRule("fight", 0.5)], ["fight", "other"])
    fired = []
    for t, s in enumerate([0.2, 0.6, 0.7, 0.55, 0.4, 0.9, 0.95]):
        fired += [(e["event"], t) for e in tracker.update(float(t), np.array([s, 1 - s]))]
    assert fired == [("alert", 1), ("alert_end", 4), ("alert", 5)]


def run_slow_source(drop: bool):
    """500 frames at 25 fps through a scorer that takes one (fake) second per window, while the
    source brings a new window every 0.16 s. Returns the summary, the watcher and each window's lag."""
    clock, lags = FakeClock(), []

    def slow_score(clip):
        lags.append(clock.now - clip[-1, 0, 0, 0] / FPS)  # wall time minus the window's last frame time
        clock.now += 1.0
        return np.array([0.5, 0.5])

    frames = (Frame(i, i / FPS, np.full((1, 1, 1), i, dtype=np.int64)) for i in range(500))
    watcher = StreamWatcher(slow_score, ["a", "b"], rel=range(8), window_stride=4, clock=clock, sleep=clock.sleep,
                            pace=True, drop=drop, fps=FPS)
    return watcher.run(frames), watcher, lags


def test_falls_behind_no_further_than_one_window():
    summary, watcher, lags = run_slow_source(drop=True)
    assert summary["dropped_frames"] > 300
    assert summary["frames"] + summary["dropped_frames"] == 500
    assert max(lags) <= watcher.max_lag + 1e-9  # never more than one window (at least 1 s) behind
    assert summary["rtf"] < 1.0
    summary, _, lags = run_slow_source(drop=False)  # without dropping, lag grows with the stream
    assert summary["dropped_frames"] == 0 and max(lags) > 50


class FlakySource:
    """Connection 1: frames 0-9 then a VideoError; connection 2: frames 0-9 then the stream ends;
    then it cannot be opened at all."""

    source = "rtsp://camera/stream"

    def __init__(self):
        self.opened = 0

    def __call__(self):
        self.opened += 1
        connection = self.opened
        if connection > 2:
            raise VideoError(self.source, "cannot open: Connection refused")

        def frames():
            for i in range(10):
                yield Frame(i, i / FPS, np.full((1, 1, 1), connection, dtype=np.uint8))
            if connection == 1:
                raise VideoError(self.source, "decoding failed (corrupt, truncated or dropped)")

        return frames()


def test_reconnects_with_backoff_and_resumes_the_timeline():
    clock, source, retries, resumes = FakeClock(), FlakySource(), [], []
    frames = reconnecting_frames(source, max_retries=2, retry_delay=0.5, live=True, sleep=clock.sleep, clock=clock,
                                 on_retry=lambda attempt, delay, reason: retries.append((attempt, delay, reason)),
                                 on_resume=lambda gap, attempts, t: resumes.append((gap, attempts, t)))
    got = []
    with pytest.raises(VideoError, match="gave up after 2 reconnection attempts"):
        for frame in frames:
            got.append(frame)
    assert [f.index for f in got] == list(range(20))  # numbering continues across the reconnection
    times = [f.time for f in got]
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times[10] == pytest.approx(times[9] + 0.5)  # resumed after the outage (the first backoff)
    assert [r[:2] for r in retries] == [(1, 0.5), (1, 0.5), (2, 1.0)]  # exponential, reset by a good frame
    assert "dropped" in retries[0][2] and retries[1][2] == "the stream ended"
    assert clock.sleeps == [0.5, 0.5, 1.0]
    assert resumes == [(0.5, 1, times[10])]  # the gap is logged once, with its length, where it ends


def test_a_swallowed_ctrl_c_stops_instead_of_reconnecting():
    """FFmpeg ends a blocking read when Ctrl-C arrives, and the KeyboardInterrupt can be lost on the
    way (the stream just looks dropped). Once the flag is up, no reconnection and no further frame."""
    clock, retries = FakeClock(), []
    ended = {"yes": False}

    def stream_that_ends():
        ended["yes"] = True  # as the read interrupted by the signal: the stream "ended"
        return iter([Frame(0, 0.0, np.zeros((1, 1, 1), dtype=np.uint8))])

    frames = reconnecting_frames(stream_that_ends, max_retries=3, sleep=clock.sleep, clock=clock,
                                 on_retry=lambda *a: retries.append(a), stopped=lambda: ended["yes"])
    with pytest.raises(KeyboardInterrupt):
        list(frames)
    assert retries == [] and clock.sleeps == []
    flowing = reconnecting_frames(FlakySource(), sleep=clock.sleep, clock=clock, stopped=lambda: True)
    with pytest.raises(KeyboardInterrupt):
        next(flowing)  # frames still flowing: the next one stops it


def test_watcher_keeps_going_across_a_reconnection():
    clock, windows = FakeClock(), []
    frames = reconnecting_frames(FlakySource(), max_retries=1, retry_delay=0.5, sleep=clock.sleep, clock=clock)
    watcher = StreamWatcher(lambda clip: np.array([clip.mean() / 2, 1 - clip.mean() / 2]), ["a", "b"], rel=range(4),
                            window_stride=2, on_event=windows.append, clock=clock, sleep=clock.sleep, fps=FPS,
                            emit_windows=True)
    with pytest.raises(VideoError):
        watcher.run(frames)
    spans = [(w["start_sec"], w["end_sec"]) for w in windows if w["event"] == "window"]
    gap = 9 / FPS + 0.5
    before = [s for s in spans if s[1] < gap]
    after = [s for s in spans if s[0] >= gap]
    assert before and after  # windows on both sides of the outage
    assert len(before) + len(after) == len(spans)  # and none straddling it


def test_file_sources_are_not_reopened():
    def broken():
        raise VideoError("clip.mp4", "decoding failed")
        yield  # pragma: no cover

    with pytest.raises(VideoError, match="decoding failed"):
        list(reconnecting_frames(broken, live=False, sleep=lambda s: pytest.fail("slept")))


def test_webhook_posts_alerts_and_survives_a_dead_endpoint(tmp_path):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = tmp_path / "events.jsonl"
    with open(log, "w") as stream:
        sink = EventSink(stream, f"http://127.0.0.1:{server.server_port}/hook", timeout=2.0)
        sink({"event": "status", "rtf": 3.0})
        sink({"event": "alert", "label": "fight", "score": 0.9})
        sink.close()
    server.shutdown()
    assert received == [{"event": "alert", "label": "fight", "score": 0.9}]  # alerts only
    assert [json.loads(line)["event"] for line in log.read_text().splitlines()] == ["status", "alert"]

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    warnings = []
    sink = EventSink(open(tmp_path / "other.jsonl", "w"), f"http://127.0.0.1:{port}/hook", timeout=1.0,
                     warn=warnings.append, retry_delay=0.05, drain_timeout=0.3)
    sink({"event": "alert", "label": "fight"})
    assert sink.close() == 1  # retried until shutdown, then reported (see test_webhook.py)
    assert sink.failed >= 1 and "failed" in warnings[0] and "1 alerts not delivered" in warnings[-1]


def brightness_checkpoint(path: Path) -> Path:
    """cnn3d_small with hand-set weights: "bright" scores >= 0.8 when most of the clip is bright."""
    model = create_model("cnn3d_small", num_classes=2)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, nn.Conv3d):  # every conv averages (channel 0 of) its input into channel 0
                m.weight.zero_()
                target = m.weight[0] if name == "stem.0" else m.weight[0, 0]
                target.fill_(1.0 / target.numel())
        model.fc.weight.zero_()
        model.fc.weight[0, 0] = 25.0
        model.fc.bias.copy_(torch.tensor([-5.0, 0.0]))
    pipe = InputSpec(clip_len=8, frame_stride=1, target_fps=None, resize=64, crop_size=64,
                    mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    return save_checkpoint({"model": model.state_dict(), "config": {}, "classes": ["bright", "dark"],
                            "pipeline": pipe.to_dict(), "model_name": "cnn3d_small", "model_options": {}}, path)


def test_watch_cli_alerts_once_at_the_right_time(tmp_path):
    frames = np.full((75, 64, 80, 3), 40, dtype=np.uint8)
    frames[25:55] = 215  # bright from 1.0 s to 2.2 s
    video = write_video(tmp_path / "flash.mp4", frames, FPS)
    ckpt = brightness_checkpoint(tmp_path / "bright.pt")
    events = tmp_path / "events.jsonl"
    # --no-realtime: as fast as it goes and no frame dropped, so the timing does not depend on the
    # machine's load (pacing and dropping are tested above with a fake clock)
    proc = run_cli("watch", video, ckpt, "--alert", "bright:0.8:0.4s", "--events", events, "--window-stride", "2",
                   "--no-realtime")
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    alerts = [e for e in lines if e["event"] == "alert"]
    assert len(alerts) == 1
    assert 1.0 <= alerts[0]["start_sec"] <= 1.0 + 8 / FPS
    assert 1.4 <= alerts[0]["time_sec"] <= 1.4 + 10 / FPS
    ends = [e for e in lines if e["event"] == "alert_end"]
    assert len(ends) == 1 and 2.2 <= ends[0]["end_sec"] <= 2.2 + 10 / FPS
    summary = lines[-1]
    assert summary["event"] == "summary" and summary["frames"] == 75 and summary["dropped_frames"] == 0
    assert summary["windows"] == 34  # windows ending at frames 7, 9, ..., 73
    assert "real time" in proc.stderr


def test_watcher_windows_are_the_sliding_windows_of_predict():
    """The same windowing as predict's (data.samplers.SlidingWindows), less the end-aligned tail
    that only a finished file has."""
    from motionlens.data.samplers import SlidingWindows

    clock, seen = FakeClock(), []
    frames = [Frame(i, i / FPS, np.full((1, 1, 1), i, dtype=np.int64)) for i in range(30)]
    watcher = StreamWatcher(lambda clip: (seen.append(tuple(clip[:, 0, 0, 0])), np.array([0.5, 0.5]))[1], ["a", "b"],
                            rel=range(8), window_stride=5, clock=clock, sleep=clock.sleep, fps=FPS)
    watcher.run(frames)
    windows = SlidingWindows(range(8), 5)
    expected = [w.indices for i in range(30) for w in windows.push(i)]
    assert seen == expected == [tuple(range(s, s + 8)) for s in (0, 5, 10, 15, 20)]
    assert windows.finish()[0].start == 22  # predict would add this one; a stream has no end to align to


def test_cooldown_keeps_a_rule_quiet_and_swallows_the_muted_stretch_end():
    tracker = AlertTracker([AlertRule("fight", 0.5, 0.0, cooldown=10.0)], ["fight", "other"])
    fired = []
    # on at 1, off at 3, on again at 5 (within 10 s of the alert at 1: muted), off at 7, on at 12 (fires)
    for t in range(16):
        s = 0.9 if 1 <= t < 3 or 5 <= t < 7 or t >= 12 else 0.1
        fired += [(e["event"], t) for e in tracker.update(float(t), np.array([s, 1 - s]))]
    assert fired == [("alert", 1), ("alert_end", 3), ("alert", 12)]


def test_the_reconnection_backoff_is_capped():
    clock, delays = FakeClock(), []

    def refused():
        raise VideoError("rtsp://cam", "cannot open: Connection refused")

    with pytest.raises(VideoError, match="gave up after 8"):
        list(reconnecting_frames(refused, max_retries=8, retry_delay=1.0, sleep=clock.sleep, clock=clock,
                                 on_retry=lambda attempt, delay, reason: delays.append(delay)))
    assert delays == [1, 2, 4, 5, 5, 5, 5, 5]  # a restarted camera is rejoined within 5 s


def test_the_frame_rate_of_a_live_source_comes_from_its_own_timestamps():
    from motionlens.deploy.watch import frame_rate, peek_rate

    frames = iter([Frame(i, i / 12.5 + (0.004 if i == 3 else 0.0), np.zeros((1, 1, 1))) for i in range(40)])
    fps, all_frames = peek_rate(frames, count=12)
    assert fps == pytest.approx(12.5)
    assert [f.index for f in all_frames] == list(range(40))  # the peeked frames are not lost
    assert frame_rate([Frame(0, float("nan"), None)], default=30.0) == 30.0


def test_watch_prepares_each_frame_once_with_the_per_window_scores(sample_videos, monkeypatch):
    from dataclasses import replace

    from motionlens.data import transforms
    from motionlens.data.spec import as_spec
    from motionlens.deploy.predict import Predictor
    from motionlens.deploy.watch import watch

    torch.manual_seed(0)
    spec = replace(as_spec("r3d_18"), modality="diff")  # 15 fps, 128x171 rounded, crop 112, differences
    predictor = Predictor(create_model("cnn3d_small", num_classes=4).eval(), spec, list("abcd"))
    resized, real = [], transforms.resize
    monkeypatch.setattr(transforms, "resize",
                        lambda clip, *a, **kw: resized.append(clip.shape[1]) or real(clip, *a, **kw))
    runs = {}
    for name, score in (("once", None), ("per window", lambda clip: predictor([clip])[0])):
        resized.clear()
        seen = []
        summary = watch(sample_videos[1], predictor, on_event=lambda e: None, realtime=False, warmup=False,
                        score=score, on_scores=lambda t, s: seen.append((t, s.copy())))
        runs[name] = (seen, list(resized), summary)
    (once, once_resized, summary), (per_window, per_window_resized, _) = runs["once"], runs["per window"]
    assert len(once) == summary["windows"] >= 4 and len(once) == len(per_window)
    for (t, s), (u, r) in zip(once, per_window):
        assert t == u and np.array_equal(s, r)
    assert set(once_resized) == {1} and len(once_resized) <= summary["frames"]  # once per frame
    assert sum(per_window_resized) == len(once) * spec.clip_len  # what it saves
