import av
import numpy as np
import pytest

from motionlens.video import VideoError, probe


def test_probe_reads_headers(make_video):
    info = probe(make_video("p.mp4", num_frames=50, size=(48, 64), fps=25))
    assert (info.num_frames, info.width, info.height, info.codec) == (50, 64, 48, "h264")
    assert info.fps == pytest.approx(25.0)
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert info.frames_estimated and info.rotation == 0  # headers only: the container's claim
    exact = probe(info.path, exact=True)
    assert exact.num_frames == 50 and not exact.frames_estimated and not exact.vfr and not exact.ends_early


def test_webm_frame_count_is_an_estimate(make_video):
    info = probe(make_video("w.webm", num_frames=40, fps=20))
    assert info.frames_estimated
    assert abs(info.num_frames - 40) <= 1


def test_probe_real_video(sample_videos):
    info = probe(next(p for p in sample_videos if p.name == "bikes.mp4"))
    assert (info.width, info.height, info.num_frames) == (640, 272, 250)
    assert info.fps == pytest.approx(25.0)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match=r"nope\.mp4: file not found"):
        probe(tmp_path / "nope.mp4")


def test_zero_bytes(tmp_path):
    (tmp_path / "z.avi").write_bytes(b"")
    with pytest.raises(VideoError, match=r"z\.avi: empty file \(0 bytes\)"):
        probe(tmp_path / "z.avi")


def test_text_renamed_avi(tmp_path):
    (tmp_path / "notes.avi").write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.avi: not a video file"):
        probe(tmp_path / "notes.avi")


def test_truncated_mp4(make_video):
    path = make_video("cut.mp4", num_frames=60)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the moov atom is at the end: cut off
    with pytest.raises(VideoError, match=r"cut\.mp4: .*(truncated|corrupt)"):
        probe(path)


def test_no_video_stream(tmp_path):
    path = tmp_path / "sound.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(VideoError, match=r"sound\.mkv: no video stream"):
        probe(path)
