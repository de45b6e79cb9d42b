"""Alert media: a pre-roll bounded in memory, snapshots and clips around the alert, retention."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from motionlens.deploy.media import AlertRecorder, MediaStore, PreRoll, decode_jpeg, encode_jpeg, encode_mp4
from motionlens.video import Frame

FPS = 25.0


def frame(i: int, size=(48, 64)) -> Frame:
    return Frame(i, i / FPS, np.full((*size, 3), (i * 3) % 256, dtype=np.uint8))


def test_jpeg_round_trip_and_downscale():
    image = np.zeros((1080, 1920, 3), np.uint8)
    image[:, :960] = (200, 30, 30)
    small = decode_jpeg(encode_jpeg(image, max_side=640))
    assert small.shape == (360, 640, 3)
    assert abs(int(small[180, 100, 0]) - 200) < 8 and small[180, 100, 2] < 40  # RGB kept, not swapped


def test_the_preroll_holds_only_its_seconds_as_small_jpegs():
    preroll = PreRoll(2.0, max_side=320)
    for i in range(500):  # 20 s of 720p
        preroll.push(frame(i, (720, 1280)))
    times = [t for t, _ in preroll.frames]
    assert times[-1] == pytest.approx(499 / FPS) and times[-1] - times[0] <= 2.0 + 1e-9
    assert len(times) == 51
    assert decode_jpeg(preroll.frames[0][1]).shape == (180, 320, 3)
    assert preroll.nbytes < 51 * 720 * 1280 * 3 / 100  # far below the raw frames


def test_mp4_clip_has_every_frame():
    data = encode_mp4([np.full((47, 63, 3), i * 10, np.uint8) for i in range(20)], FPS)
    with av.open(io.BytesIO(data)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(decoded) == 20 and decoded[0].shape == (48, 64, 3)  # padded to even
    assert [int(round(f[20, 20].mean() / 10)) for f in decoded] == list(range(20))


def test_an_alert_gets_a_snapshot_now_and_a_clip_around_it(tmp_path):
    store = MediaStore(tmp_path, keep=5)
    recorder = AlertRecorder("door/1", store, fps=FPS, pre=1.0, post=0.6)
    for i in range(100):  # alert at frame 50 (2 s)
        recorder.push(frame(i))
        if i == 50:
            media = recorder.alert({"event": "alert", "time_sec": 2.0})
            assert (tmp_path / media["snapshot"]).is_file()
            assert not (tmp_path / media["clip"]).exists()  # the post-roll is still to come
    recorder.close()
    assert media["alert_id"].startswith("door_1-")  # the camera name made safe for a file name
    snapshot = decode_jpeg((tmp_path / media["snapshot"]).read_bytes())
    assert abs(int(snapshot.mean()) - 150) <= 3  # the frame of the alert
    with av.open(str(tmp_path / media["clip"])) as container:
        levels = [int(round(f.to_ndarray(format="rgb24").mean() / 3)) for f in container.decode(video=0)]
    assert levels[0] == 25 and levels[-1] == 65  # from 1 s before to 0.6 s after, frame for frame
    assert len(levels) == 41
    assert store.path(media["alert_id"], "mp4") == tmp_path / media["clip"]


def test_retention_removes_the_oldest_and_serves_only_known_alerts(tmp_path):
    (tmp_path / "old-run.jpg").write_bytes(b"x")  # an earlier run's alert counts towards the limit
    store = MediaStore(tmp_path, keep=3)
    ids = []
    for _ in range(3):
        alert_id = store.new_id("cam")
        store.write(alert_id, "jpg", b"jpeg")
        ids.append(alert_id)
    assert not (tmp_path / "old-run.jpg").exists()
    assert sorted(p.stem for p in tmp_path.glob("*.jpg")) == sorted(ids)
    newest = store.new_id("cam")
    assert store.path(ids[0], "jpg") is None and not (tmp_path / f"{ids[0]}.jpg").exists()
    assert store.write(ids[0], "mp4", b"late clip") is None  # a clip finished after its alert was removed
    assert not list(tmp_path.glob(f"{ids[0]}*"))
    assert store.path(newest, "jpg") is None  # known, but nothing written yet
    assert store.path(ids[1], "jpg") == tmp_path / f"{ids[1]}.jpg"
    (tmp_path / "stranger.jpg").write_bytes(b"x")
    for alert_id, kind in (("stranger", "jpg"), ("../x", "jpg"), (ids[1], "txt"), (ids[1], "")):
        assert store.path(alert_id, kind) is None
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
