"""Live inference on a stream: rolling windows, alert rules, reconnection, bounded lag.

`StreamWatcher` is the core: it consumes `Frame(index, time, image)`s and a clock, cuts them
into the windows of `data.samplers.SlidingWindows` (a window every `window_stride` frames, as
predict does) and feeds the scores to the alert rules. Everything that waits or
reads the time goes through `clock` and `sleep`, so tests drive it with fake frames and a fake
clock and nothing sleeps. `reconnecting_frames` wraps a source that may drop out; `watch` wires
both to a real source and a Predictor for `motionlens watch`.

Timeline: a window's scores are stamped with the time of its last frame (the moment they could
be known live), smoothed causally (the mean of the last `smooth` windows: no look-ahead). Alerts
are the events of `events.EventTracker`, the state machine predict's events use, run causally on
segments `(t, t)` at those stamps: a rule `label:threshold:duration` fires once when the label's
score has stayed at or above the threshold from one window to a window `duration` seconds later,
and is re-armed only when the score falls below the threshold again.
"""

from __future__ import annotations

import itertools
import math
import re
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..data.samplers import SlidingWindows
from ..core.errors import MotionlensError, VideoError
from ..video import Frame
from .events import EventTracker, MovingAverage

Clock = Callable[[], float]
Sleep = Callable[[float], None]

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*$")


def parse_duration(text: str) -> float:
    """Seconds from "2s", "2", "500ms" or "1.5m"."""
    match = _DURATION.match(str(text))
    if not match:
        raise MotionlensError(f"bad duration {text!r}: use seconds such as 2s, 500ms or 1.5m")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


@dataclass(frozen=True)
class AlertRule:
    """Fire when `label`'s score stays >= `threshold` for `min_duration` seconds."""

    label: str
    threshold: float
    min_duration: float = 0.0
    cooldown: float = 0.0  # seconds of stream after an alert during which the rule does not fire again

    @classmethod
    def parse(cls, text: str) -> "AlertRule":
        """`LABEL:THRESHOLD[:DURATION]`, e.g. `fight:0.8:2s`; the label may itself contain colons."""
        parts = text.rsplit(":", 2)
        if len(parts) == 3 and not _DURATION.match(parts[2]):
            parts = [f"{parts[0]}:{parts[1]}", parts[2]]
        try:
            if len(parts) == 3:
                rule = cls(parts[0], float(parts[1]), parse_duration(parts[2]))
            elif len(parts) == 2:
                rule = cls(parts[0], float(parts[1]))
            else:
                raise ValueError
        except (ValueError, MotionlensError):
            raise MotionlensError(f"bad alert rule {text!r}: use LABEL:THRESHOLD[:DURATION], "
                                  f"e.g. fight:0.8:2s") from None
        if not rule.label or not 0.0 <= rule.threshold <= 1.0:
            raise MotionlensError(f"bad alert rule {text!r}: the label must be non-empty and the threshold in [0, 1]")
        return rule

    def __str__(self) -> str:
        return f"{self.label}:{self.threshold:g}:{self.min_duration:g}s"


class AlertTracker:
    """Alert rules over a stream of `(time, scores)`: one `EventTracker` per rule, fed the point
    segment `(time, time)`. Per rule: `alert` when the score has been >= threshold for the rule's
    duration (once), then `alert_end` when it falls below; only then can the rule fire again."""

    def __init__(self, rules: Sequence[AlertRule], classes: Sequence[str]):
        import difflib

        self.rules = list(rules)
        for rule in self.rules:
            if rule.label not in classes:
                close = difflib.get_close_matches(rule.label, list(classes), n=3, cutoff=0.5)
                hint = (f"did you mean {', '.join(close)}?" if close
                        else f"the model's classes start {', '.join(list(classes)[:5])}")
                raise MotionlensError(f"alert rule {rule}: the model has no class {rule.label!r}; {hint}")
        self.trackers = [EventTracker(classes, rule.threshold, min_duration=rule.min_duration, classes=[rule.label])
                         for rule in self.rules]
        self.fired_at = [-math.inf] * len(self.rules)  # stream time of each rule's last alert
        self.muted = [False] * len(self.rules)  # the open stretch fired inside the cooldown: no alert, no end

    def update(self, time_sec: float, scores: np.ndarray) -> list[dict]:
        out = []
        for i, (rule, tracker) in enumerate(zip(self.rules, self.trackers)):
            started, ended = tracker.step(time_sec, time_sec, scores)
            if ended and self.muted[i]:
                self.muted[i], ended = False, []
            out += [{"event": "alert_end", "rule": str(rule), "label": rule.label,
                     "start_sec": round(e["start_sec"], 6), "end_sec": round(e["end_sec"], 6),
                     "peak_score": round(e["peak_score"], 6)} for e in ended]
            if started and time_sec - self.fired_at[i] < rule.cooldown:
                self.muted[i], started = True, []
            elif started:
                self.fired_at[i] = time_sec
            out += [{"event": "alert", "rule": str(rule), "label": rule.label, "score": round(e["score"], 6),
                     "start_sec": round(e["start_sec"], 6), "time_sec": round(e["time_sec"], 6)} for e in started]
        return out


class StreamWatcher:
    """Rolling-window inference over a stream of Frames.

    score: uint8 `(T, H, W, C)` window -> `(K,)` softmax scores.
    window_stride: frames between window starts. `rel`: frame offsets of a clip within its window.
    pace: sleep so frames are consumed no faster than their timestamps (a file played live).
    drop: when more than `max_lag` seconds behind the source (wall clock vs frame time; default
      one window's worth, at least 1 s so one slow window is not a reason), skip frames until
      caught up, so lag never grows without bound; skipped frames are counted.
    smooth: causal mean over the last `smooth` windows' scores (`MovingAverage(smooth, causal=True)`).
    on_event: receives every event dict (alerts, windows when `emit_windows`, status).
    on_frame: sees every frame that is scored (not the dropped ones), before its windows are.
    on_scores: `(time_sec, scores (K,))` for every window, after smoothing (the live view's timeline).
    prepare: applied once to each scored frame's image as it enters the windows (`Predictor.prepare`:
      resized, cropped, normalised); `score` then gets the window's list of prepared images."""

    def __init__(self, score: Callable[[np.ndarray], np.ndarray], classes: Sequence[str], rel: Sequence[int],
                 window_stride: int, rules: Sequence[AlertRule] = (), on_event: Callable[[dict], None] = lambda e: None,
                 clock: Clock = time.monotonic, sleep: Sleep = time.sleep, pace: bool = False, drop: bool = True,
                 fps: float = 25.0, smooth: int = 1, report_every: float = 10.0, emit_windows: bool = False,
                 on_status: Callable[[dict], None] | None = None, max_lag: float | None = None,
                 on_frame: Callable[[Frame], None] | None = None,
                 on_scores: Callable[[float, np.ndarray], None] | None = None,
                 prepare: Callable[[np.ndarray], Any] | None = None):
        self.score, self.classes, self.prepare = score, list(classes), prepare
        self.on_frame, self.on_scores = on_frame, on_scores
        self.windowing = SlidingWindows(rel, max(1, int(window_stride)))
        self.need = self.windowing.span  # frames a window spans
        self.tracker = AlertTracker(rules, classes)
        self.on_event, self.on_status = on_event, on_status
        self.clock, self.sleep = clock, sleep
        self.pace, self.drop, self.fps = pace, drop, fps
        self.max_lag = max_lag if max_lag is not None else max(self.need / fps, 1.0)
        self.smooth = MovingAverage(smooth, causal=True)
        self.report_every, self.emit_windows = report_every, emit_windows
        self.frames = self.dropped = self.windows = 0
        self.slept = self.infer_sec = 0.0
        self.alerts: list[dict] = []
        self.start_wall: float | None = None
        self.start_time = self.last_time = 0.0

    def run(self, frames: Iterable[Frame]) -> dict:
        """Consume `frames` to the end; returns the summary (also sent as a "summary" event)."""
        next_report = None
        for frame in frames:
            now = self.clock()
            t = frame.time if math.isfinite(frame.time) else frame.index / self.fps  # no timestamps: by number
            if self.start_wall is None:
                self.start_wall, self.start_time = now, t
                next_report = now + self.report_every
            # Times from here on count from the first frame (an RTSP clock can start anywhere).
            frame = Frame(frame.index, t - self.start_time, frame.image)
            if self.pace and frame.time > now - self.start_wall:
                self.sleep(frame.time - (now - self.start_wall))
                self.slept += self.clock() - now  # as slept: an oversleep is not work
                now = self.clock()
            if self.drop and (now - self.start_wall) - frame.time > self.max_lag:
                self.dropped += 1  # stale: a newer window's worth is already due
                self.windowing.restart()
                continue
            if self.windowing.count and frame.time - self.last_time > 2.5 / self.fps:
                self.windowing.restart()  # a gap (reconnection, dropped frames): windows must be contiguous
            self.frames += 1
            self.last_time = frame.time
            if self.on_frame is not None:
                self.on_frame(frame)
            if self.prepare is not None:  # once per frame, however many windows share it
                begin = self.clock()
                frame = Frame(frame.index, frame.time, self.prepare(frame.image))
                self.infer_sec += self.clock() - begin
            for window in self.windowing.push(frame):
                self._score_window(window.frames)
            if now >= next_report:
                next_report = now + self.report_every
                self._status("status")
        return self._status("summary")

    def _score_window(self, frames: Sequence[Frame]) -> None:
        images = [f.image for f in frames]
        clip = images if self.prepare is not None else np.stack(images)  # raw frames: (T, H, W, C)
        begin = self.clock()
        scores = np.asarray(self.score(clip), dtype=np.float64)
        self.infer_sec += self.clock() - begin
        self.windows += 1
        (scores,) = self.smooth.push(scores)
        end_time = frames[-1].time
        if self.on_scores is not None:
            self.on_scores(end_time, scores)
        if self.emit_windows:
            best = int(np.argmax(scores))
            self.on_event({"event": "window", "start_sec": round(frames[0].time, 6),
                           "end_sec": round(end_time, 6), "label": self.classes[best],
                           "score": round(float(scores[best]), 6)})
        for event in self.tracker.update(end_time, scores):
            event["wall_time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            if event["event"] == "alert":
                self.alerts.append(event)
            self.on_event(event)

    def snapshot(self, kind: str = "status") -> dict:
        """The status event now, without sending it (the live view asks for it at any time)."""
        wall = (self.clock() - self.start_wall) if self.start_wall is not None else 0.0
        stream = self.last_time + (1.0 / self.fps if self.frames else 0.0)
        busy = max(wall - self.slept, 1e-9)
        return {"event": kind, "stream_sec": round(stream, 3), "wall_sec": round(wall, 3),
                "rtf": round(stream / busy, 3), "inference_sec": round(self.infer_sec, 3), "frames": self.frames,
                "dropped_frames": self.dropped, "windows": self.windows, "alerts": len(self.alerts)}

    def _status(self, kind: str) -> dict:
        status = self.snapshot(kind)
        self.on_event(status)
        if self.on_status is not None:
            self.on_status(status)
        return status


def reconnecting_frames(open_frames: Callable[[], Iterable[Frame]], max_retries: int = 5, retry_delay: float = 1.0,
                        live: bool = True, max_delay: float = 5.0, sleep: Sleep = time.sleep,
                        clock: Clock = time.monotonic,
                        on_retry: Callable[[int, float, str], None] | None = None,
                        on_resume: Callable[[float, int, float], None] | None = None,
                        stopped: Callable[[], bool] = lambda: False) -> Iterator[Frame]:
    """Frames from `open_frames()`, reopened with exponential backoff (capped at `max_delay`, so a
    camera that comes back is rejoined within seconds) when the source drops out.

    A drop-out is a VideoError while reading, or, for a live source, the stream ending. After a
    reconnection, frame numbers continue and times resume where they stopped plus the outage,
    so the timeline keeps running. `max_retries` consecutive failed attempts (no frame between
    them) end it with a VideoError. A file (`live=False`) is not reopened: its end is the end,
    and its errors are raised. `on_retry(attempt, delay, reason)` is called before each wait,
    `on_resume(gap_sec, attempts, time_sec)` when frames flow again after a drop-out: the gap
    from the failure to the first new frame, and that frame's time on the continued timeline.
    Once `stopped()` is true (a Ctrl-C that the decoder swallowed), the next frame or drop-out
    raises KeyboardInterrupt instead."""
    last: Frame | None = None
    failures, failed_at = 0, 0.0
    while True:
        index_offset = time_offset = None
        try:
            for frame in open_frames():
                if index_offset is None:
                    if last is None:
                        index_offset, time_offset = 0, 0.0
                    else:
                        outage = max(clock() - failed_at, 1e-3)
                        index_offset = last.index + 1 - frame.index
                        time_offset = last.time + outage - frame.time
                        if on_resume is not None:
                            on_resume(outage, failures, frame.time + time_offset)
                failures = 0
                last = Frame(frame.index + index_offset, frame.time + time_offset, frame.image)
                if stopped():
                    raise KeyboardInterrupt
                yield last
            if not live:
                return
            reason = "the stream ended"
        except VideoError as err:
            if not live:
                raise
            reason = err.reason
        if stopped():  # FFmpeg ends a blocking read for a pending Ctrl-C, as if the stream had dropped
            raise KeyboardInterrupt
        failed_at = clock() if failures == 0 else failed_at  # the outage began at the first failure
        failures += 1
        if failures > max_retries:
            raise VideoError(getattr(open_frames, "source", "stream"),
                             f"gave up after {max_retries} reconnection attempts ({reason})")
        delay = min(retry_delay * 2 ** (failures - 1), max_delay)
        if on_retry is not None:
            on_retry(failures, delay, reason)
        sleep(delay)


def is_live(source: str | int) -> bool:
    """Webcam indices and URLs are live; anything else is a file."""
    text = str(source)
    return isinstance(source, int) or text.isdigit() or "://" in text


def frame_rate(frames: Sequence[Frame], default: float = 25.0) -> float:
    """Frames per second from the frames' own timestamps (the median step), else `default`."""
    times = np.array([f.time for f in frames], dtype=np.float64)
    steps = np.diff(times[np.isfinite(times)])
    steps = steps[steps > 0]
    return float(1.0 / np.median(steps)) if len(steps) else default


def peek_rate(frames: Iterator[Frame], count: int = 12, default: float = 25.0) -> tuple[float, Iterator[Frame]]:
    """A live source's frame rate from its first `count` frames, and all its frames, those
    included. A live source is opened once: a camera or server that takes one client at a time
    would refuse a second connection made only to read its headers."""
    head = list(itertools.islice(frames, count))
    return frame_rate(head, default), itertools.chain(head, frames)


def watch(source: str | int, predictor, rules: Sequence[AlertRule] = (), on_event: Callable[[dict], None] = print,
          window_stride: int | None = None, realtime: bool | None = None, smooth: int = 1, max_retries: int = 5,
          retry_delay: float = 1.0, report_every: float = 10.0, emit_windows: bool = False,
          on_status: Callable[[dict], None] | None = None,
          on_retry: Callable[[int, float, str], None] | None = None,
          on_resume: Callable[[float, int, float], None] | None = None,
          score: Callable[[np.ndarray], np.ndarray] | None = None, warmup: bool = True,
          on_frame: Callable[[Frame], None] | None = None,
          on_scores: Callable[[float, np.ndarray], None] | None = None,
          on_start: Callable[[StreamWatcher], None] | None = None,
          stopped: Callable[[], bool] = lambda: False) -> dict:
    """Watch `source` (file, URL or webcam index) with a Predictor; returns the summary.

    `window_stride`: frames between window starts (default: half a window). `realtime`: play a file at its
    frame rate (default on for files; live sources are paced by nature). `on_retry` and
    `on_resume` see each drop-out of a live source (see `reconnecting_frames`). A summary is
    emitted however it ends: the source's end, giving up on it, Ctrl-C or `stopped()`.
    `score`: uint8 `(T, H, W, C)` -> `(K,)` scores (default: the predictor, one window at a time;
    several cameras pass a shared batcher). `on_frame`/`on_scores`: see `StreamWatcher`;
    `on_start` receives the watcher once the frame rate is known."""
    from ..video import iter_frames, probe

    live = is_live(source)
    pipe = predictor.pipeline
    pace = (not live) if realtime is None else (realtime and not live)

    def open_frames() -> Iterator[Frame]:
        return iter_frames(source, size=pipe.resize if pipe.decoder_resize else None)  # the transform resizes

    def make_watcher(fps: float) -> StreamWatcher:
        rel, stride = pipe.stream_windows(fps, window_stride)  # the spec chooses the window's frames
        own = score is None  # the predictor's own scoring takes frames prepared once
        return StreamWatcher(predictor.window_scores if own else score, predictor.classes, rel, stride, rules,
                             on_event, pace=pace, drop=pace or live, fps=fps, smooth=smooth,
                             report_every=report_every, emit_windows=emit_windows, on_status=on_status,
                             on_frame=on_frame, on_scores=on_scores, prepare=predictor.prepare_one if own else None)

    open_frames.source = str(source)
    if warmup:
        predictor.warmup()
    interrupted = _InterruptFlag()
    watcher = None
    try:
        with interrupted:
            frames = reconnecting_frames(open_frames, max_retries=max_retries, retry_delay=retry_delay, live=live,
                                         on_retry=on_retry, on_resume=on_resume,
                                         stopped=lambda: interrupted.is_set() or stopped())
            fps, frames = peek_rate(frames) if live else (probe(source).fps, frames)
            watcher = make_watcher(fps)
            if on_start is not None:
                on_start(watcher)
            return watcher.run(frames)
    except (VideoError, KeyboardInterrupt):
        (watcher or make_watcher(25.0))._status("summary")
        raise


class _InterruptFlag:
    """While entered (in the main thread), Ctrl-C also sets a flag that stays set: FFmpeg answers a
    signal inside a blocking network read by ending the read, and the KeyboardInterrupt can be
    lost on the way, so a live source would be reconnected instead of stopped."""

    def __init__(self) -> None:
        self.flag = False
        self.previous = None

    def is_set(self) -> bool:
        return self.flag

    def _handle(self, signum, frame) -> None:
        self.flag = True
        raise KeyboardInterrupt

    def __enter__(self) -> "_InterruptFlag":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def format_status(status: dict) -> str:
    """One human line for a status or summary event."""
    text = (f"{status['stream_sec']:.1f} s of stream in {status['wall_sec']:.1f} s | processing "
            f"{status['rtf']:.2f}x real time | {status['windows']} windows | {status['alerts']} alerts")
    if status["dropped_frames"]:
        text += f" | dropped {status['dropped_frames']} frames (inference slower than the source)"
    return text
