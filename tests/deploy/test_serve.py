"""`watch --serve`: the API on a live state fed by a fake camera, the token, bad paths, a port in
use, and the page in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from motionlens.core.errors import MotionlensError
from motionlens.deploy.live import CameraState, LiveState
from motionlens.deploy.media import AlertRecorder, MediaStore
from motionlens.deploy.serve import check_bind, parse_bind, serve
from motionlens.video import Frame

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class FakeCamera:
    """A camera named `name` pushing 64x80 frames at 25 fps (brightness = frame number) with
    scores, and one alert with its snapshot and clip once `alert_at` frames have passed."""

    def __init__(self, state: LiveState, name: str, frames: int = 200, alert_at: int = 20):
        self.live, self.camera = state, state.cameras[name]
        self.camera.classes = ["fight", "walk", "sit"]
        self.recorder = AlertRecorder(name, state.media, fps=25.0, pre=0.4, post=0.4) if state.media else None
        self.frames, self.alert_at = frames, alert_at
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        for i in range(self.frames):
            frame = Frame(i, i / 25, np.full((64, 80, 3), i % 256, dtype=np.uint8))
            self.camera.push_frame(frame)
            if self.recorder is not None:
                self.recorder.push(frame)
            fight = 0.9 if i >= self.alert_at else 0.1
            self.camera.push_scores(frame.time, np.array([fight, 1 - fight - 0.05, 0.05]))
            if i == self.alert_at:
                event = {"camera": self.camera.name, "event": "alert", "label": "fight", "score": 0.9,
                         "rule": "fight:0.8:0s", "start_sec": frame.time, "time_sec": frame.time,
                         "wall_time": "2026-01-01T00:00:00+00:00"}
                if self.recorder is not None:
                    event.update(self.recorder.alert(event))
                self.camera.note_event(event)
                self.live.add_event(event)
            time.sleep(0.04)
        if self.recorder is not None:
            self.recorder.close()
        self.camera.set_state("stopped", "the source ended")


@pytest.fixture
def served(tmp_path):
    """(server, state, fake camera) on a free loopback port; `served.token` is None."""
    state = LiveState([CameraState("door", "rtsp://admin:hunter2@10.0.0.5/stream?token=abc&x=1")],
                      MediaStore(tmp_path / "alerts", keep=10))
    server = serve(state, "127.0.0.1:0")
    camera = FakeCamera(state, "door")
    camera.thread.start()
    yield server, state, camera
    server.stop()


def get(url: str, headers: dict | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def raw_get(port: int, path: str) -> tuple[int, dict]:
    """GET `path` exactly as written (urllib and browsers would fold `..` away first)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def wait_for(condition, limit: float = 10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail("timed out")


def test_api_routes_on_a_live_state(served):
    server, state, camera = served
    base = server.url
    wait_for(lambda: camera.camera.frame is not None and camera.camera.frame.index > 30)
    status, kind, body = get(base + "api/cameras")
    (cam,) = json.loads(body)
    assert status == 200 and kind == "application/json"
    assert cam["name"] == "door" and cam["state"] == "live"
    assert "hunter2" not in cam["source"] and "abc" not in cam["source"]
    assert cam["source"].startswith("rtsp://***@10.0.0.5/stream?") and "x=1" in cam["source"]
    assert cam["scores"][0] == ["fight", 0.9]
    status, kind, body = get(base + "cameras/door/frame.jpg")
    assert status == 200 and kind == "image/jpeg" and body[:2] == b"\xff\xd8"
    timeline = json.loads(get(base + "api/cameras/door/timeline")[2])
    times = [p["t"] for p in timeline["points"]]
    assert len(times) >= 2 and timeline["points"][-1]["scores"]["fight"] == 0.9
    assert min(np.diff(times)) >= timeline["seconds"] / 600 - 1e-9  # thinned: 600 points span the timeline
    events = json.loads(get(base + "api/events?since=0")[2])
    (alert,) = events["events"]
    assert alert["id"] == 1 and alert["camera"] == "door" and events["last"] == 1
    assert json.loads(get(base + "api/events?since=1")[2])["events"] == []
    status, kind, body = get(base + "alerts/" + alert["snapshot"])
    assert status == 200 and kind == "image/jpeg" and body[:2] == b"\xff\xd8"
    wait_for(lambda: get(base + "alerts/" + alert["clip"])[0] == 200)  # written 0.4 s of stream later
    assert get(base + "alerts/" + alert["clip"])[1] == "video/mp4"
    page = get(base)[2].decode()
    assert "<script>" in page and "src=\"http" not in page and "href=\"http" not in page  # no external assets


def test_mjpeg_streams_successive_frames(served):
    server, _, camera = served
    wait_for(lambda: camera.camera.frame is not None)
    with urllib.request.urlopen(server.url + "cameras/door/live.mjpg", timeout=10) as reply:
        assert reply.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        data = b""
        while data.count(b"--frame") < 4:
            data += reply.read1(65536)
    assert data.count(b"\xff\xd8") >= 3  # several JPEGs, one per part


@pytest.mark.parametrize("path", ["/cameras/../x", "/cameras/..%2f..%2fetc%2fpasswd/frame.jpg", "/cameras/nope/frame.jpg",
                                  "/api/cameras/nope/timeline", "/alerts/../../etc/passwd", "/alerts/x.txt",
                                  "/alerts/unknown-alert.jpg", "/etc/passwd"])
def test_unknown_names_and_paths_are_404_json(served, path):
    server, _, _ = served
    status, body = raw_get(server.server_address[1], path)
    assert status == 404 and body == {"error": "not found"}


def test_a_token_is_required_when_set(tmp_path):
    state = LiveState([CameraState("door", "a.mp4")])
    server = serve(state, "127.0.0.1:0", token="s3cret")
    try:
        for path in ("", "api/cameras", "cameras/door/frame.jpg", "api/events"):
            status, kind, body = get(server.url + path)
            assert status == 401 and kind == "application/json" and "token" in json.loads(body)["error"]
        assert get(server.url + "api/cameras?token=wrong")[0] == 401
        assert get(server.url + "api/cameras", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(server.url + "api/cameras?token=s3cret")[0] == 200
        assert get(server.url + "api/cameras", {"Authorization": "Bearer s3cret"})[0] == 200
    finally:
        server.stop()


def test_binding_beyond_loopback_needs_a_token_and_a_busy_port_is_one_line():
    assert parse_bind("127.0.0.1:8080") == ("127.0.0.1", 8080) and parse_bind("[::1]:9") == ("::1", 9)
    assert check_bind("localhost:1", None) == ("localhost", 1)
    with pytest.raises(MotionlensError, match="needs --token"):
        check_bind("0.0.0.0:8080", None)
    assert check_bind("0.0.0.0:8080", "t") == ("0.0.0.0", 8080)
    with pytest.raises(MotionlensError, match="bad --serve address"):
        parse_bind("127.0.0.1:http")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(MotionlensError, match=r"cannot serve on 127.0.0.1:\d+: the port is in use"):
            serve(LiveState([]), f"127.0.0.1:{busy.getsockname()[1]}")


def browser():
    """Debian's Chromium under Playwright (its own browser download is not possible here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    manager = sync_api.sync_playwright().start()
    return manager, manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.mark.slow
@pytest.mark.parametrize("token", [None, "s3cret"])
def test_the_page_shows_frames_timeline_and_alert_media_in_a_browser(tmp_path, token):
    state = LiveState([CameraState("door", "a.mp4"), CameraState("yard 2", "b.mp4")],
                      MediaStore(tmp_path / "alerts", keep=10))
    server = serve(state, "127.0.0.1:0", token=token)
    cameras = [FakeCamera(state, "door", frames=250, alert_at=10), FakeCamera(state, "yard 2", frames=250, alert_at=10**6)]
    for camera in cameras:
        camera.thread.start()
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(server.url + (f"?token={token}" if token else ""), wait_until="domcontentloaded")
        for name in ("door", "yard 2"):  # frames appear and then change: the view is live
            selector = f'div.camera[data-camera="{name}"] img.frame'
            page.wait_for_function(f"() => {{ const i = document.querySelector('{selector}');"
                                   " return i && i.complete && i.naturalWidth === 80; }", timeout=15000)
        first = page.eval_on_selector('div.camera[data-camera="door"] img.frame', "i => i.src")
        page.wait_for_function("s => document.querySelector('div.camera[data-camera=\"door\"] img.frame').src !== s"
                               " && document.querySelector('div.camera[data-camera=\"door\"] img.frame').naturalWidth",
                               arg=first, timeout=10000)
        page.wait_for_selector('div.camera[data-camera="door"] .state-live', timeout=10000)
        page.wait_for_function("() => document.querySelectorAll('svg.timeline polyline').length >= 2", timeout=10000)
        page.wait_for_function("() => { const i = document.querySelector('#alert-list li.alert img.snapshot');"
                               " return i && i.complete && i.naturalWidth === 80; }", timeout=15000)
        alert = page.inner_text("#alert-list li.alert")
        assert "door" in alert and "fight" in alert
        clip = page.get_attribute("#alert-list li.alert a.clip", "href")
        assert clip.startswith("/alerts/door-") and (f"token={token}" in clip) == bool(token)
        status, kind, body = wait_for(lambda: (r := get(server.url.rstrip("/") + clip))[0] == 200 and r)
        assert kind == "video/mp4" and body[4:8] == b"ftyp"
        assert page.locator("#alert-list li.alert").count() == 1  # the yard camera raised none
    finally:
        chromium.close()
        manager.stop()
        server.stop()


@pytest.mark.slow
def test_the_cli_refuses_a_busy_port_and_an_open_bind_without_token_in_one_line(tmp_path):
    from tests.conftest import run_cli

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("watch", "a.mp4", "no_such_run", "--serve", f"127.0.0.1:{port}")
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: cannot serve on 127.0.0.1:{port}: the port is in use"
    proc = run_cli("watch", "a.mp4", "no_such_run", "--serve", "0.0.0.0:0")
    assert proc.returncode == 2 and "needs --token" in proc.stderr and "Traceback" not in proc.stderr
