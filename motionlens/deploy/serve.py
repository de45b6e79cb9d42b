"""`watch --serve`: a small HTTP API and page over the live state (`live.LiveState`), nothing more.

Routes (GET):
    /                              the page (inline HTML/JS, no external assets; it polls the API)
    /api/cameras                   [{name, source (credentials masked), state, stream_sec, rtf, scores, ...}]
    /api/cameras/NAME/timeline     {name, seconds, points: [{t, scores: {label: score}}]}
    /api/events?since=N            {last, events: [{id, event, camera, ...}]} (id > N)
    /cameras/NAME/frame.jpg        the newest annotated frame
    /cameras/NAME/live.mjpg        the annotated frames as MJPEG
    /alerts/ID.jpg, /alerts/ID.mp4 an alert's snapshot and clip (only alerts the store knows)
Anything else, unknown camera names included, is a 404 with a JSON body. Names are looked up in
the state, never joined to a path. With a token every request must carry it, as
`Authorization: Bearer T` or `?token=T` (401 otherwise); binding anywhere but loopback needs one.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ..core.errors import MotionlensError
from .live import LiveState
from .media import KINDS

PAGE = Path(__file__).resolve().parent.parent / "resources" / "watch_page.html"
MJPEG_MIN_INTERVAL = 0.1  # seconds between MJPEG parts: at most 10 frames/s per client


def parse_bind(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6, `:8080` or `8080` for 127.0.0.1) -> (host, port)."""
    host, _, port = str(text).rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise MotionlensError(f"bad --serve address {text!r}: use HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LiveServer(ThreadingHTTPServer):
    daemon_threads = True  # an open MJPEG stream must not keep the process alive

    def __init__(self, address: tuple[str, int], state: LiveState, token: str | None):
        self.state, self.token, self.stopping = state, token, threading.Event()
        self.page = PAGE.read_bytes()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

    def handle_error(self, request, client_address) -> None:
        pass  # a viewer that closes its tab mid-reply is no error worth a traceback on the terminal

    def stop(self) -> None:
        self.stopping.set()
        for camera in self.state.cameras.values():
            with camera.cond:
                camera.cond.notify_all()
        self.shutdown()
        self.server_close()


def check_bind(bind: str, token: str | None) -> tuple[str, int]:
    """(host, port) of `bind`; a non-loopback address without a token is a one-line MotionlensError."""
    host, port = parse_bind(bind)
    if not is_loopback(host) and not token:
        raise MotionlensError(f"--serve {bind}: serving beyond this machine needs --token (every request "
                              "must then carry it)")
    return host, port


def serve(state: LiveState, bind: str = "127.0.0.1:8080", token: str | None = None) -> LiveServer:
    """Start serving `state` on `bind` in a background thread; returns the server (`.url`, `.stop()`).
    A non-loopback address without `token`, or a port in use, is a one-line MotionlensError."""
    host, port = check_bind(bind, token)
    try:
        server = LiveServer((host, port), state, token or None)
    except OSError as err:
        reason = "the port is in use" if err.errno == errno.EADDRINUSE else (err.strerror or str(err))
        raise MotionlensError(f"cannot serve on {host}:{port}: {reason}") from None
    threading.Thread(target=server.serve_forever, name="serve", daemon=True).start()
    return server


class Handler(BaseHTTPRequestHandler):
    server: LiveServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass  # the operator's terminal shows events, not every poll

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not self._authorised(query):
            return self._json(401, {"error": "a token is required: Authorization: Bearer TOKEN or ?token=TOKEN"})
        path = [unquote(p) for p in parts.path.split("/")[1:]]
        state = self.server.state
        if path in ([""], ["index.html"]):
            return self._send(200, "text/html; charset=utf-8", self.server.page)
        if path == ["api", "cameras"]:
            return self._json(200, state.cameras_json())
        if path == ["api", "events"]:
            try:
                since = int(query.get("since", ["0"])[0])
            except ValueError:
                return self._json(400, {"error": "since must be an integer"})
            return self._json(200, state.events_since(since))
        if len(path) == 4 and path[:2] == ["api", "cameras"] and path[3] == "timeline" and path[2] in state.cameras:
            return self._json(200, state.cameras[path[2]].timeline_json())
        if len(path) == 3 and path[0] == "cameras" and path[1] in state.cameras:
            camera = state.cameras[path[1]]
            if path[2] == "frame.jpg":
                latest = camera.jpeg()
                if latest is None:
                    return self._json(503, {"error": f"no frame from {camera.name} yet"})
                return self._send(200, "image/jpeg", latest[1])
            if path[2] == "live.mjpg":
                return self._mjpeg(camera)
        if len(path) == 2 and path[0] == "alerts" and state.media is not None:
            alert_id, _, kind = path[1].rpartition(".")
            file = state.media.path(alert_id, kind)
            if file is not None:
                return self._send(200, KINDS[kind], file.read_bytes())
        return self._json(404, {"error": "not found"})

    def _authorised(self, query: dict) -> bool:
        token = self.server.token
        if token is None:
            return True
        header = self.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else (query.get("token") or [""])[0]
        return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, "application/json", json.dumps(data).encode("utf-8"))

    def _mjpeg(self, camera) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        last = None
        try:
            while not self.server.stopping.is_set():
                camera.wait_frame(last, timeout=5.0)
                latest = camera.jpeg()
                if latest is not None and latest[0] != last:
                    last = latest[0]
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                     + str(len(latest[1])).encode() + b"\r\n\r\n" + latest[1] + b"\r\n")
                    self.wfile.flush()
                elif camera.state == "stopped":
                    return
                time.sleep(MJPEG_MIN_INTERVAL)
        except (BrokenPipeError, ConnectionResetError):
            return  # the viewer went away
