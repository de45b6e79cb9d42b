"""The live view's state: masked sources, a bounded timeline, one JPEG per frame, numbered events."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from motionlens.deploy.live import TIMELINE_POINTS, CameraState, LiveState, annotate, mask_source
from motionlens.deploy.media import decode_jpeg
from motionlens.video import Frame


@pytest.mark.parametrize("source, shown", [
    ("rtsp://admin:hunter2@10.0.0.5:554/stream", "rtsp://***@10.0.0.5:554/stream"),
    ("http://cam/live.ts?user=a&password=b&token=c&apikey=d&fps=5", "http://cam/live.ts?user=a&password=***&token=***&apikey=***&fps=5"),
    ("rtsp://10.0.0.5/stream", "rtsp://10.0.0.5/stream"),
    ("videos/door.mp4", "videos/door.mp4"),
    (0, "0"),
])
def test_credentials_in_sources_are_masked(source, shown):
    assert mask_source(source) == shown


def test_the_timeline_is_thinned_and_bounded():
    camera = CameraState("door", "a.mp4", timeline_sec=60.0)
    camera.classes = ["a", "b", "c", "d", "e", "f", "g"]
    for i in range(10_000):  # 400 s of windows every 0.04 s
        camera.push_scores(i * 0.04, np.array([0.5, 0.2, 0.1, 0.08, 0.07, 0.03, 0.02]))
    points = camera.timeline_json()["points"]
    assert len(points) == TIMELINE_POINTS
    assert np.diff([p["t"] for p in points]).min() >= 60.0 / TIMELINE_POINTS - 1e-6
    assert points[-1]["scores"] == {"a": 0.5, "b": 0.2, "c": 0.1, "d": 0.08, "e": 0.07}  # the top 5
    assert camera.top[0] == ("a", 0.5)


def test_the_jpeg_is_made_once_per_frame_and_shows_alerts():
    camera = CameraState("door", "a.mp4")
    camera.classes = ["fight", "walk"]
    assert camera.jpeg() is None
    camera.push_frame(Frame(7, 0.28, np.full((60, 80, 3), 100, np.uint8)))
    first = camera.jpeg()
    assert first[0] == 7 and camera.jpeg() is first  # cached until a new frame comes
    camera.note_event({"event": "alert", "label": "fight"})
    camera.push_frame(Frame(8, 0.32, np.full((60, 80, 3), 100, np.uint8)))
    index, data = camera.jpeg()
    image = decode_jpeg(data)
    assert index == 8 and image[30, 0, 0] > 200 and image[30, 0, 1] < 90  # the red frame of an alert
    camera.note_event({"event": "alert_end", "label": "fight"})
    assert camera.to_json()["alerting"] == [] and camera.to_json()["state"] == "live"


def test_annotate_draws_labels_without_touching_the_input():
    image = np.full((120, 160, 3), 128, np.uint8)
    out = annotate(image, [("fight", 0.9)], alerting=False)
    assert (image == 128).all() and out.shape == image.shape
    assert (out[:20, :80] != 128).any() and (out[60:, :] == 128).all()


def test_wait_frame_wakes_on_a_new_frame():
    camera = CameraState("door", "a.mp4")
    woke = threading.Event()

    def waiter():
        camera.wait_frame(None, timeout=5)
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not woke.wait(0.2)
    camera.push_frame(Frame(0, 0.0, np.zeros((2, 2, 3), np.uint8)))
    assert woke.wait(2)
    thread.join()


def test_events_are_numbered_and_bounded():
    state = LiveState([CameraState("a", "a.mp4")], max_events=3)
    for i in range(5):
        state.add_event({"event": "status", "n": i})
    since = state.events_since(0)
    assert since["last"] == 5 and [e["id"] for e in since["events"]] == [3, 4, 5]
    assert [e["n"] for e in state.events_since(4)["events"]] == [4]
    assert state.cameras_json()[0]["state"] == "starting"
