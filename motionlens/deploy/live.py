"""What the live view shows, kept by the watching threads and read by the HTTP server.

Per camera (`CameraState`): its state (starting, live, reconnecting, stopped), the watcher's
status (stream seconds, real-time factor...), the newest frame and the newest window's scores,
and a timeline of the top class scores thinned to at most `TIMELINE_POINTS` over
`timeline_sec` seconds. The annotated JPEG of the newest frame is made only when someone asks,
at most once per frame. `LiveState` holds the cameras, the last `max_events` events numbered in
order (for `/api/events?since=N`) and the alert media folder. Memory is bounded per camera.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import cv2
import numpy as np

from ..video.annotate import label_colour
from ..video import Frame
from .media import MediaStore, encode_jpeg

TIMELINE_POINTS = 600
TOP = 5
_SECRET_KEYS = ("pass", "pwd", "token", "key", "auth", "secret", "sig")


def mask_source(source: str | int) -> str:
    """`source` with the credentials of a URL hidden: `rtsp://***@cam/stream?token=***`."""
    text = str(source)
    if "://" not in text:
        return text
    parts = urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = urlencode([(k, "***" if any(s in k.lower() for s in _SECRET_KEYS) else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def annotate(image: np.ndarray, top: Sequence[tuple[str, float]], alerting: bool) -> np.ndarray:
    """`image` with the top labels and scores at the top left, and a red frame while an alert is on."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.35, h / 600)
    thickness = max(1, int(round(scale * 1.5)))
    y = 0
    for label, score in top[:3]:
        text = f"{label} {score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        box = out[y: y + th + base + 4, : min(w, tw + 6)]
        box[:] = (box * 0.35).astype(np.uint8)  # a dark band keeps the text legible on any frame
        cv2.putText(out, text, (3, y + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, label_colour(label), thickness,
                    cv2.LINE_AA)
        y += th + base + 4
    if alerting:
        cv2.rectangle(out, (0, 0), (w - 1, h - 1), (255, 40, 40), max(2, h // 60))
    return out


class CameraState:
    """One camera as the live view sees it; every method is safe to call from any thread."""

    def __init__(self, name: str, source: str | int, timeline_sec: float = 300.0, max_side: int = 640):
        self.name, self.source = name, mask_source(source)
        self.timeline_sec, self.max_side = timeline_sec, max_side
        self.state, self.reason = "starting", None
        self.watcher = None  # the StreamWatcher, once the frame rate is known (for its status)
        self.last_status: dict = {}
        self.classes: list[str] = []
        self.frame: Frame | None = None
        self.top: list[tuple[str, float]] = []
        self.alerting: set[str] = set()
        self.timeline: deque[tuple[float, dict[str, float]]] = deque(maxlen=TIMELINE_POINTS)
        self.cond = threading.Condition()
        self._jpeg: tuple[int, bytes] | None = None

    def set_state(self, state: str, reason: str | None = None) -> None:
        with self.cond:
            self.state, self.reason = state, reason
            self.cond.notify_all()

    def push_frame(self, frame: Frame) -> None:
        with self.cond:
            if self.state != "live":
                self.state, self.reason = "live", None
            self.frame = frame
            self.cond.notify_all()

    def push_scores(self, time_sec: float, scores: np.ndarray) -> None:
        order = np.argsort(scores)[::-1][:TOP]
        top = [(self.classes[k], round(float(scores[k]), 4)) for k in order]
        with self.cond:
            self.top = top
            if not self.timeline or time_sec - self.timeline[-1][0] >= self.timeline_sec / TIMELINE_POINTS:
                self.timeline.append((round(time_sec, 3), dict(top)))

    def note_event(self, event: dict) -> None:
        with self.cond:
            if event.get("event") == "alert":
                self.alerting.add(event["label"])
            elif event.get("event") == "alert_end":
                self.alerting.discard(event["label"])
            elif event.get("event") in ("status", "summary"):
                self.last_status = event

    def jpeg(self) -> tuple[int, bytes] | None:
        """`(frame index, annotated JPEG)` of the newest frame, or None before the first frame."""
        with self.cond:
            frame, top, alerting, cached = self.frame, list(self.top), bool(self.alerting), self._jpeg
        if frame is None:
            return None
        if cached is not None and cached[0] == frame.index:
            return cached
        data = encode_jpeg(annotate(frame.image, top, alerting), self.max_side)
        self._jpeg = (frame.index, data)
        return self._jpeg

    def wait_frame(self, after: int | None, timeout: float) -> None:
        """Block until a frame newer than `after` arrives (or the camera stops), at most `timeout` s."""
        with self.cond:
            self.cond.wait_for(lambda: self.state == "stopped" or (self.frame is not None and self.frame.index != after),
                               timeout)

    def to_json(self) -> dict:
        with self.cond:
            watcher, status = self.watcher, self.last_status
            out = {"name": self.name, "source": self.source, "state": self.state, "reason": self.reason,
                   "scores": [list(s) for s in self.top], "alerting": sorted(self.alerting)}
        if watcher is not None and self.state != "stopped":
            status = watcher.snapshot()
        for key in ("stream_sec", "rtf", "frames", "dropped_frames", "windows", "alerts"):
            out[key] = status.get(key, 0)
        return out

    def timeline_json(self) -> dict:
        with self.cond:
            points = [{"t": t, "scores": s} for t, s in self.timeline]
        return {"name": self.name, "seconds": self.timeline_sec, "points": points}


class LiveState:
    """Every camera, the recent events (numbered from 1) and the alert media, for the server."""

    def __init__(self, cameras: Sequence[CameraState], media: MediaStore | None = None, max_events: int = 1000):
        self.cameras = {c.name: c for c in cameras}
        self.media = media
        self.events: deque[dict] = deque(maxlen=max_events)
        self.last_id = 0
        self.lock = threading.Lock()
        self.started = time.time()

    def add_event(self, event: dict) -> dict:
        """Number `event` (its `id`) and keep it; returns the stored copy."""
        with self.lock:
            self.last_id += 1
            stored = {"id": self.last_id, **event}
            self.events.append(stored)
            return stored

    def events_since(self, since: int) -> dict:
        with self.lock:
            return {"last": self.last_id, "events": [e for e in self.events if e["id"] > since]}

    def cameras_json(self) -> list[dict]:
        return [c.to_json() for c in self.cameras.values()]
