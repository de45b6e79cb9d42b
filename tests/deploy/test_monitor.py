"""Several cameras in one process: one that dies does not stop the others; events carry their
camera; alerts bring their media; the CLI serves it all."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

import numpy as np
import pytest

from motionlens.core.errors import VideoError
from motionlens.deploy.cameras import CameraConfig
from motionlens.deploy.media import MediaStore
from motionlens.deploy.monitor import Monitor, WatchOptions
from motionlens.deploy.predict import load_predictor
from motionlens.deploy.watch import AlertRule
from motionlens.video import write_video
from tests.conftest import CLI
from tests.deploy.test_serve import browser
from tests.deploy.test_watch import brightness_checkpoint
from tests.deploy.test_watch_stream import _default_sigint, free_port, start_server

FPS = 25.0


def flash_video(path, frames: int = 75, bright=(25, 55)):
    video = np.full((frames, 64, 80, 3), 40, dtype=np.uint8)
    video[bright[0]:bright[1]] = 215
    return write_video(path, video, FPS)


@pytest.mark.slow
def test_a_camera_that_dies_does_not_stop_the_others(tmp_path):
    predictor = load_predictor(brightness_checkpoint(tmp_path / "bright.pt"), device="cpu")
    port = free_port()
    server = start_server(port, lifetime=1.0)  # a live camera that goes away after 1 s, for good
    rule = [AlertRule("bright", 0.8, 0.4)]
    cameras = [CameraConfig("door", str(flash_video(tmp_path / "door.mp4")), rule),
               CameraConfig("gate", f"http://127.0.0.1:{port}/live.ts", rule)]
    events = []
    monitor = Monitor(predictor, cameras, events.append,
                      WatchOptions(window_stride=2, max_retries=1, retry_delay=0.1, pre_roll=0.5, post_roll=0.5),
                      MediaStore(tmp_path / "alerts"))
    try:
        outcomes = monitor.run()
    finally:
        server.kill()
        server.wait()
    assert isinstance(outcomes["gate"], VideoError) and "gave up" in str(outcomes["gate"])
    door = outcomes["door"]
    assert door["frames"] + door["dropped_frames"] == 75 and door["windows"] >= 25 and door["alerts"] == 1
    assert all("camera" in e for e in events)
    order = [(e["camera"], e["event"]) for e in events]
    gate_end = order.index(("gate", "summary"))
    assert ("door", "alert_end") in order[gate_end:] and order[-1] == ("door", "summary")  # scored on after
    (alert,) = [e for e in events if e["event"] == "alert"]
    assert alert["camera"] == "door" and (tmp_path / "alerts" / alert["snapshot"]).is_file()
    assert (tmp_path / "alerts" / alert["clip"]).is_file()
    states = {c["name"]: (c["state"], c["reason"]) for c in monitor.live.cameras_json()}
    assert states["door"] == ("stopped", "the source ended") and states["gate"][0] == "stopped"


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def page_shows_the_real_run(base: str) -> None:
    """The page, in Chromium, over what the real watcher produced: both cameras' last frames
    (model-sized, 80x64), their stopped state, and door's alert with its snapshot and clip."""
    manager, chromium = browser()
    try:
        page = chromium.new_page()
        page.goto(base, wait_until="domcontentloaded")
        for name in ("door", "yard"):
            page.wait_for_function(f"() => {{ const i = document.querySelector('div.camera[data-camera=\"{name}\"] "
                                   "img.frame'); return i && i.complete && i.naturalWidth === 80; }", timeout=15000)
        page.wait_for_selector('div.camera[data-camera="yard"] .state-stopped', timeout=10000)
        page.wait_for_function("() => { const i = document.querySelector('#alert-list li.alert img.snapshot');"
                               " return i && i.complete && i.naturalWidth === 80; }", timeout=15000)
        assert page.inner_text("#alert-list li.alert").startswith("door: bright")
        assert page.get_attribute("#alert-list li.alert a.clip", "href").endswith(".mp4")
    finally:
        chromium.close()
        manager.stop()


@pytest.mark.slow
def test_watch_cameras_cli_serves_state_events_and_media(tmp_path):
    ckpt = brightness_checkpoint(tmp_path / "bright.pt")
    flash_video(tmp_path / "a.mp4")
    flash_video(tmp_path / "b.mp4", bright=(0, 0))
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - name: door\n    source: {tmp_path / 'a.mp4'}\n    alerts: [bright:0.8:0.4s]\n"
                       f"  - name: yard\n    source: {tmp_path / 'b.mp4'}\n    alerts: [bright:0.8:0.4s]\n")
    port = free_port()
    events_file = tmp_path / "events.jsonl"
    proc = subprocess.Popen([CLI, "watch", "--cameras", str(cameras), str(ckpt), "--serve", f"127.0.0.1:{port}",
                             "--alert-clips", str(tmp_path / "alerts"), "--events", str(events_file),
                             "--window-stride", "2", "--device", "cpu", "--clip-before", "0.5", "--clip-after", "0.5"],
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "watch did not serve or ended early"
            try:
                cams = get_json(base + "api/cameras")
                if all(c["state"] == "stopped" for c in cams):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert [c["name"] for c in cams] == ["door", "yard"]
        assert all(c["frames"] + c["dropped_frames"] == 75 and c["windows"] > 10 for c in cams), cams
        events = get_json(base + "api/events?since=0")["events"]
        (alert,) = [e for e in events if e["event"] == "alert"]
        assert alert["camera"] == "door" and alert["snapshot_url"] == base + "alerts/" + alert["snapshot"]
        for _ in range(50):  # the clip is written in the background
            try:
                with urllib.request.urlopen(alert["clip_url"], timeout=10) as reply:
                    assert reply.headers["Content-Type"] == "video/mp4"
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the clip was never served")
        page_shows_the_real_run(base)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    logged = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert {e["camera"] for e in logged} == {"door", "yard"}
    assert [e for e in logged if e["event"] == "alert"][0]["clip_url"] == alert["clip_url"]  # the webhook's payload
    assert proc.returncode == 130 and "Traceback" not in stderr and "door: done" in stderr
