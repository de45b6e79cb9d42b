"""Alert media: a JPEG snapshot and an MP4 clip per alert, from a pre-roll bounded in memory.

Each camera keeps its last `pre + post` seconds of frames as JPEG bytes, downscaled to at most
`max_side` pixels (`PreRoll`), so memory per camera is bounded whatever the source resolution.
When an alert fires, its snapshot is written at once; its clip (from `pre` seconds before the
alert to `post` seconds after) once the stream has run `post` seconds past it, encoded by the
store's one writer thread so no camera waits for the encoder. All files go to one folder
(`MediaStore`), written atomically; the oldest alerts' files are removed beyond `keep` alerts.
"""

from __future__ import annotations

import io
import logging
import os
import queue
import re
import threading
import time
from collections import deque
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from ..core.atomic import write_bytes
from ..core.paths import join_inside
from ..video import Frame
from ..video.writer import pick_codec

log = logging.getLogger(__name__)

KINDS = {"jpg": "image/jpeg", "mp4": "video/mp4"}
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def encode_jpeg(image: np.ndarray, max_side: int | None = None, quality: int = 80) -> bytes:
    """uint8 RGB `(H, W, 3)` -> JPEG bytes, first shrunk so its longer side is at most `max_side`."""
    h, w = image.shape[:2]
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return data.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray:
    """JPEG bytes -> uint8 RGB `(H, W, 3)`."""
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def encode_mp4(images: list[np.ndarray], fps: float) -> bytes:
    """uint8 RGB `(H, W, 3)` frames (one size) -> MP4 bytes (H.264 where the encoder exists)."""
    codec, _ = pick_codec("clip.mp4")
    buffer = io.BytesIO()
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=rate)
        h, w = images[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
        stream.codec_context.thread_count = 1  # short clips: threads would only hold more frames in memory
        if codec == "libx264":
            stream.codec_context.options = {"preset": "veryfast", "crf": "26"}
        for i, image in enumerate(images):
            if image.shape[:2] != (h, w):  # the source changed size (a reconnection): fit the clip's
                image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
            if image.shape[0] % 2 or image.shape[1] % 2:
                image = np.pad(image, ((0, image.shape[0] % 2), (0, image.shape[1] % 2), (0, 0)), mode="edge")
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


class PreRoll:
    """The last `seconds` of a camera's frames as `(time_sec, JPEG bytes)`, oldest first."""

    def __init__(self, seconds: float, max_side: int = 640, quality: int = 75):
        self.seconds, self.max_side, self.quality = seconds, max_side, quality
        self.frames: deque[tuple[float, bytes]] = deque()

    def push(self, frame: Frame) -> None:
        self.frames.append((frame.time, encode_jpeg(frame.image, self.max_side, self.quality)))
        while self.frames and frame.time - self.frames[0][0] > self.seconds:
            self.frames.popleft()

    def between(self, start: float, end: float) -> list[bytes]:
        return [data for t, data in self.frames if start <= t <= end]

    @property
    def nbytes(self) -> int:
        return sum(len(data) for _, data in self.frames)


class MediaStore:
    """The alert media folder: `ID.jpg` and `ID.mp4` per alert, at most `keep` alerts (oldest
    removed first, those of earlier runs included). Only alerts it knows are ever served."""

    def __init__(self, root: str | os.PathLike, keep: int = 100):
        self.root, self.keep = Path(root), max(1, int(keep))
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.count = 0
        earlier = sorted(self.root.glob("*.jpg"), key=lambda p: p.stat().st_mtime)
        self.ids: deque[str] = deque(p.stem for p in earlier if _ID.match(p.stem))
        self._trim()
        self.clips: queue.Queue = queue.Queue()  # (alert id, JPEG frames, fps) for the writer thread
        threading.Thread(target=self._write_clips, name="alert-clips", daemon=True).start()

    def submit_clip(self, alert_id: str, frames: list[bytes], fps: float) -> None:
        """Encode `frames` (JPEG bytes) as the alert's MP4, in the writer thread."""
        self.clips.put((alert_id, frames, fps))

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every clip submitted is written (at most `timeout` s); True if so."""
        deadline = time.monotonic() + timeout
        while self.clips.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.clips.unfinished_tasks

    def _write_clips(self) -> None:
        while True:
            alert_id, frames, fps = self.clips.get()
            try:
                self.write(alert_id, "mp4", encode_mp4([decode_jpeg(data) for data in frames], fps))
            except Exception as err:  # one bad clip (a full disk) must not end the writer for the others
                log.warning("alert clip %s not written: %s", alert_id, err)
            finally:
                self.clips.task_done()

    def new_id(self, camera: str) -> str:
        with self.lock:
            self.count += 1
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
            safe = re.sub(r"[^A-Za-z0-9_-]", "_", camera)[:60] or "camera"
            alert_id = f"{safe}-{stamp}-{os.getpid()}-{self.count}"
            self.ids.append(alert_id)
            self._trim()
            return alert_id

    def write(self, alert_id: str, kind: str, data: bytes) -> Path | None:
        with self.lock:
            if alert_id not in self.ids:
                return None  # removed by retention before its clip was ready
            return write_bytes(join_inside(self.root, f"{alert_id}.{kind}"), data)

    def path(self, alert_id: str, kind: str) -> Path | None:
        """The file of a known alert, if written; None for anything else (a request's name)."""
        if kind not in KINDS or not _ID.match(alert_id):
            return None
        with self.lock:
            if alert_id not in self.ids:
                return None
        path = join_inside(self.root, f"{alert_id}.{kind}")
        return path if path.is_file() else None

    def _trim(self) -> None:
        while len(self.ids) > self.keep:
            old = self.ids.popleft()
            for kind in KINDS:
                join_inside(self.root, f"{old}.{kind}").unlink(missing_ok=True)


class AlertRecorder:
    """One camera's pre-roll and its alerts' media. `push` every frame scored, `alert(event)` on an
    alert (returns the fields to add to the event), `close` at the end (pending clips are cut short)."""

    def __init__(self, camera: str, store: MediaStore, fps: float = 25.0, pre: float = 3.0, post: float = 3.0,
                 max_side: int = 640):
        self.camera, self.store, self.fps, self.pre, self.post = camera, store, fps, pre, post
        self.preroll = PreRoll(pre + post + 1.0, max_side)
        self.max_side = max_side
        self.last: Frame | None = None
        self.pending: list[tuple[str, float]] = []  # (alert id, alert time) waiting for their post-roll

    def push(self, frame: Frame) -> None:
        self.preroll.push(frame)
        self.last = frame
        due = [p for p in self.pending if frame.time >= p[1] + self.post]
        for item in due:
            self.pending.remove(item)
            self._write_clip(*item)

    def alert(self, event: dict, snapshot: np.ndarray | None = None) -> dict:
        """Write the snapshot (`snapshot`, else the newest frame) and schedule the clip; returns
        `{"alert_id", "snapshot", "clip"}` (file names in the media folder)."""
        alert_id = self.store.new_id(self.camera)
        image = snapshot if snapshot is not None else (self.last.image if self.last is not None else None)
        if image is not None:
            self.store.write(alert_id, "jpg", encode_jpeg(image, self.max_side, 90))
        self.pending.append((alert_id, float(event.get("time_sec", self.last.time if self.last else 0.0))))
        return {"alert_id": alert_id, "snapshot": f"{alert_id}.jpg", "clip": f"{alert_id}.mp4"}

    def _write_clip(self, alert_id: str, time_sec: float) -> None:
        frames = self.preroll.between(time_sec - self.pre, time_sec + self.post)
        if frames:
            self.store.submit_clip(alert_id, frames, self.fps)

    def close(self, timeout: float = 60.0) -> None:
        """Cut the clips still waiting for their post-roll short, and wait until all are written."""
        for item in self.pending:
            self._write_clip(*item)
        self.pending = []
        self.store.flush(timeout)
