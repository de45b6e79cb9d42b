"""Watching cameras for an operator: each camera's watcher wired to the live view, alert media and the event sink.

`Monitor.run_camera` runs `watch.watch` on one camera and routes what it sees: frames to the
live view (`live.CameraState`) and the pre-roll (`media.AlertRecorder`), window scores to the
timeline, events (tagged with the camera's name when there are several) to the sink (JSON lines
and webhook), the live view's event list, and, for alerts, the snapshot and clip. `Monitor.run`
runs one camera in the calling thread, several in a thread each with one `cameras.BatchScorer`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import quote

import numpy as np

from ..core.errors import VideoError
from .cameras import BatchScorer, CameraConfig
from .live import CameraState, LiveState, annotate, mask_source
from .media import AlertRecorder, MediaStore
from .watch import StreamWatcher, watch


@dataclass
class WatchOptions:
    """What every camera's watcher shares (see `watch.watch`)."""

    window_stride: int | None = None  # source frames between window starts (None: half a window)
    realtime: bool | None = None  # play files at their frame rate (None: on for files)
    smooth: int = 1  # causal mean over the last N windows
    max_retries: int = 5  # reconnection attempts in a row before a camera gives up
    retry_delay: float = 1.0  # first reconnection delay, doubling up to 5 s
    report_every: float = 10.0  # seconds between status events
    emit_windows: bool = False  # an event for every window
    pre_roll: float = 3.0  # seconds of an alert's clip before the alert
    post_roll: float = 3.0  # and after it
    batch_size: int = 8  # most windows per forward pass across cameras


def live_state(cameras: Sequence[CameraConfig], media: MediaStore | None = None) -> LiveState:
    """The live view's state for `cameras`, before any is watched (a server can start on it)."""
    return LiveState([CameraState(c.name, c.source) for c in cameras], media)


class Monitor:
    """Cameras, their live state and where their events go.

    sink: receives every event (`webhook.EventSink`). media: where alert snapshots and clips go
    (None: no media). log: human lines for the terminal. on_status: each status/summary event.
    live: the state the live view reads (default: `live_state(cameras, media)`).
    `tag_camera` adds `camera` to every event (on whenever there are several cameras)."""

    def __init__(self, predictor, cameras: Sequence[CameraConfig], sink: Callable[[dict], None],
                 options: WatchOptions | None = None, media: MediaStore | None = None,
                 log: Callable[[str], None] = lambda message: None,
                 on_status: Callable[[str, dict], None] | None = None, tag_camera: bool | None = None,
                 live: LiveState | None = None):
        self.predictor, self.cameras, self.sink = predictor, list(cameras), sink
        self.options = options or WatchOptions()
        self.media, self.log, self.on_status = media, log, on_status
        self.tag_camera = len(self.cameras) > 1 if tag_camera is None else tag_camera
        self.live = live or live_state(self.cameras, media)
        self.base_url: str | None = None  # set when serving: alerts then carry their media's URLs
        self.stop = threading.Event()

    def run_camera(self, camera: CameraConfig, score=None, warmup: bool = True) -> dict:
        """Watch one camera to its end; returns its summary. Raises what `watch.watch` raises."""
        state = self.live.cameras[camera.name]
        shown = camera.name if self.tag_camera else mask_source(camera.source)
        state.classes = list(self.predictor.classes)
        recorder: AlertRecorder | None = None
        top: list[tuple[str, float]] = []
        opts = self.options

        def on_start(watcher: StreamWatcher) -> None:
            nonlocal recorder
            state.watcher = watcher
            if self.media is not None:
                recorder = AlertRecorder(camera.name, self.media, watcher.fps, opts.pre_roll, opts.post_roll)

        def on_frame(frame) -> None:
            state.push_frame(frame)
            if recorder is not None:
                recorder.push(frame)

        def on_scores(time_sec: float, scores: np.ndarray) -> None:
            state.push_scores(time_sec, scores)
            top[:] = state.top

        def on_event(event: dict) -> None:
            if self.tag_camera:
                event = {"camera": camera.name, **event}
            if event["event"] == "alert" and recorder is not None and recorder.last is not None:
                event.update(recorder.alert(event, annotate(recorder.last.image, top, True)))
                if self.base_url:
                    event["snapshot_url"] = self.base_url + "alerts/" + quote(event["snapshot"])
                    event["clip_url"] = self.base_url + "alerts/" + quote(event["clip"])
            state.note_event(event)
            self.live.add_event(event)
            self.sink(event)
            if event["event"] in ("status", "summary") and self.on_status is not None:
                self.on_status(camera.name, event)

        def on_retry(attempt: int, delay: float, reason: str) -> None:
            state.set_state("reconnecting", reason)
            on_event({"event": "reconnect", "attempt": attempt, "delay_sec": delay, "reason": reason})
            self.log(f"{shown}: {reason}; reconnecting in {delay:g} s (attempt {attempt}/{opts.max_retries})")

        def on_resume(gap: float, attempts: int, time_sec: float) -> None:
            state.set_state("live")
            on_event({"event": "reconnected", "gap_sec": round(gap, 3), "attempts": attempts,
                      "stream_sec": round(time_sec, 3)})
            self.log(f"{shown}: back after a {gap:.1f} s gap ({attempts} attempts); scoring again")

        reason = "the source ended"
        try:
            return watch(camera.source, self.predictor, camera.rules, on_event=on_event,
                         window_stride=opts.window_stride, realtime=opts.realtime, smooth=opts.smooth,
                         max_retries=opts.max_retries, retry_delay=opts.retry_delay, report_every=opts.report_every,
                         emit_windows=opts.emit_windows, on_retry=on_retry, on_resume=on_resume, score=score,
                         warmup=warmup, on_frame=on_frame, on_scores=on_scores, on_start=on_start,
                         stopped=self.stop.is_set)
        except VideoError as err:
            reason = err.reason
            raise
        except KeyboardInterrupt:
            reason = "stopped"
            raise
        finally:
            if recorder is not None:
                recorder.close()
            state.set_state("stopped", reason)

    def run(self) -> dict[str, dict | Exception]:
        """Every camera to its end: one in this thread (its errors raised), several in a thread
        each (a camera's error is its outcome; the others go on). Returns name -> summary or error."""
        if len(self.cameras) == 1:
            camera = self.cameras[0]
            return {camera.name: self.run_camera(camera)}
        outcomes: dict[str, dict | Exception] = {}
        scorer = BatchScorer(self.predictor, self.options.batch_size)
        self.predictor.warmup()

        def run_one(camera: CameraConfig) -> None:
            try:
                outcomes[camera.name] = self.run_camera(camera, score=scorer, warmup=False)
            except (VideoError, KeyboardInterrupt) as err:
                outcomes[camera.name] = err
                if isinstance(err, VideoError):
                    self.log(f"{camera.name}: {err.reason}; this camera has stopped, the others go on")
            except Exception as err:  # a bug or a model failure in one camera must not stop the others
                outcomes[camera.name] = err
                self.log(f"{camera.name}: stopped by {type(err).__name__}: {err}")

        threads = [threading.Thread(target=run_one, args=(c,), name=f"camera-{c.name}", daemon=True)
                   for c in self.cameras]
        for thread in threads:
            thread.start()
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(timeout=0.2)
        except KeyboardInterrupt:
            self.stop.set()  # each camera stops at its next frame; one stuck in a read is left behind
            for thread in threads:
                thread.join(timeout=3.0)
            raise
        finally:
            scorer.close()
        return outcomes
