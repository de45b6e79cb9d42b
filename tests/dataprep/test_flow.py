"""Flow extraction: accuracy on a known translation, per-video storage, dataset runs that resume and
report failures."""

import json

import cv2
import numpy as np
import pytest

from motionlens.data.index import build_index
from motionlens.core.errors import MotionlensError, VideoError
from motionlens.data.flow_storage import dequantize, read_flow
from motionlens.dataprep.flow import extract_dataset, extract_video, make_flow_fn
from motionlens.video import write_video


def textured_pair(dx: int = 3, dy: int = -2, size=(96, 128), seed=0):
    """Two grayscale frames of a smooth random texture, the second moved by (dx, dy) pixels."""
    rng = np.random.default_rng(seed)
    big = cv2.GaussianBlur(rng.uniform(0, 255, (size[0] + 40, size[1] + 40)).astype(np.float32), (0, 0), 2.0)
    big = cv2.normalize(big, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    y0, x0 = 20, 20
    first = big[y0:y0 + size[0], x0:x0 + size[1]]
    second = big[y0 - dy:y0 - dy + size[0], x0 - dx:x0 - dx + size[1]]  # content at (x, y) is now at (x + dx, y + dy)
    return np.ascontiguousarray(first), np.ascontiguousarray(second)


@pytest.mark.parametrize("method", ["farneback", "dis"])
@pytest.mark.parametrize("shift", [(3, -2), (-2, 1)])
def test_flow_of_a_translation_has_its_direction_and_magnitude(method, shift):
    first, second = textured_pair(*shift)
    flow = make_flow_fn(method)(first, second)
    assert flow.shape == first.shape + (2,) and flow.dtype == np.float32
    interior = flow[12:-12, 12:-12]
    assert np.median(interior[..., 0]) == pytest.approx(shift[0], abs=0.5)
    assert np.median(interior[..., 1]) == pytest.approx(shift[1], abs=0.5)


def test_tvl1_works_with_opencv_contrib_or_says_how_to_get_it():
    if hasattr(cv2, "optflow"):
        first, second = textured_pair()
        flow = make_flow_fn("tvl1")(first, second)
        assert np.median(flow[12:-12, 12:-12, 0]) == pytest.approx(3, abs=0.5)
    else:
        with pytest.raises(MotionlensError, match=r"pip install motionlens\[tvl1\]"):
            make_flow_fn("tvl1")


def test_unknown_method_is_a_user_error():
    with pytest.raises(MotionlensError, match="farneback"):
        make_flow_fn("horn-schunck")


def moving_frames(num_frames=8, size=(48, 64), step=2, seed=0) -> np.ndarray:
    """uint8 RGB (T, H, W, 3): a textured image sliding right by `step` px per frame."""
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (size[0], size[1] + step * num_frames, 3)).astype(np.float32)
    wide = cv2.GaussianBlur(noise, (0, 0), 2)
    wide = cv2.normalize(wide, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return np.stack([wide[:, (num_frames - t) * step:(num_frames - t) * step + size[1]] for t in range(num_frames)])


@pytest.mark.parametrize("fmt", ["jpeg", "video"])
def test_extract_video_writes_n_minus_1_named_flow_frames_and_a_done_marker(tmp_path, fmt):
    video = write_video(tmp_path / "slide.mp4", moving_frames(), fps=10, crf=12)
    info = extract_video(video, tmp_path / "out", method="farneback", fmt=fmt)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    if fmt == "jpeg":
        assert names == ["done"] + [f"flow_{c}_{k:05d}.jpg" for c in "xy" for k in range(1, 8)]
    else:
        assert names == ["done", "x.mp4", "y.mp4"]
    marker = json.loads((tmp_path / "out" / "done").read_text())
    assert marker == info and marker["num_flow_frames"] == 7 and marker["method"] == "farneback"
    assert (marker["height"], marker["width"], marker["fps"]) == (48, 64, 10.0)
    flow = dequantize(read_flow(tmp_path / "out", range(7)))
    assert flow.shape == (7, 48, 64, 2)
    assert np.median(flow[:, 10:-10, 10:-10, 0]) == pytest.approx(2, abs=0.5)  # slides right by 2 px a frame
    assert abs(np.median(flow[:, 10:-10, 10:-10, 1])) < 0.5


def test_extract_video_resizes_to_a_short_side_first(tmp_path):
    video = write_video(tmp_path / "slide.mp4", moving_frames(size=(48, 64)), fps=10)
    info = extract_video(video, tmp_path / "out", size=24)
    assert (info["height"], info["width"], info["size"]) == (24, 32, 24)


def test_a_one_frame_video_fails_with_a_reason(tmp_path):
    video = write_video(tmp_path / "one.mp4", moving_frames(num_frames=1), fps=10)
    with pytest.raises(VideoError, match="fewer than 2"):
        extract_video(video, tmp_path / "out")
    assert not (tmp_path / "out" / "done").exists()


@pytest.fixture
def tiny_dataset(tmp_path):
    """folder layout: 2 classes x 2 sliding videos, plus one file that is not a video."""
    root = tmp_path / "data"
    for c, cls in enumerate(("left", "right")):
        for k in range(2):
            write_video(root / cls / f"{cls}_{k}.mp4", moving_frames(num_frames=6, seed=2 * c + k), fps=10)
    (root / "right" / "broken.mp4").write_bytes(b"\x00garbage" * 300)
    return root


def test_dataset_extraction_mirrors_paths_skips_done_videos_and_lists_failures(tiny_dataset, tmp_path):
    index = build_index(f"folder:{tiny_dataset}")
    out = tmp_path / "flow"
    report = extract_dataset(index, out, workers=1, show_progress=False)
    assert len(report.extracted) == 4 and not report.skipped and report.flow_frames == 4 * 5
    assert [p.endswith("broken.mp4") for p, _ in report.failed] == [True]
    assert "not a video" in report.failed[0][1]
    for cls in ("left", "right"):
        for k in range(2):
            assert (out / cls / f"{cls}_{k}" / "done").is_file()
            assert (out / cls / f"{cls}_{k}" / "flow_y_00005.jpg").is_file()

    # An interrupted video (no marker, a stale file) is redone; finished ones are skipped.
    (out / "left" / "left_0" / "done").unlink()
    (out / "left" / "left_0" / "flow_x_00099.jpg").write_bytes(b"stale")
    before = (out / "right" / "right_1" / "flow_x_00001.jpg").stat().st_mtime_ns
    again = extract_dataset(index, out, workers=2, show_progress=False)
    assert [p.rsplit("/", 1)[-1] for p in again.extracted] == ["left_0.mp4"] and len(again.skipped) == 3
    assert not (out / "left" / "left_0" / "flow_x_00099.jpg").exists()
    assert (out / "right" / "right_1" / "flow_x_00001.jpg").stat().st_mtime_ns == before


def test_a_video_that_fails_to_decode_does_not_stop_the_others(tiny_dataset, tmp_path, monkeypatch):
    import motionlens.dataprep.flow as extract

    real = extract.extract_video

    def flaky(video, *args, **kwargs):
        if video.endswith("left_1.mp4"):
            raise VideoError(video, "decoding failed (corrupt or truncated)")
        return real(video, *args, **kwargs)

    monkeypatch.setattr(extract, "extract_video", flaky)
    report = extract_dataset(build_index(f"folder:{tiny_dataset}"), tmp_path / "flow", workers=1, show_progress=False)
    assert len(report.extracted) == 3
    assert {p.rsplit("/", 1)[-1]: r for p, r in report.failed} == {
        "broken.mp4": "not a video file (no known container format)",
        "left_1.mp4": "decoding failed (corrupt or truncated)"}


def test_other_settings_in_the_same_out_are_refused_unless_overwritten(tiny_dataset, tmp_path):
    index = build_index(f"folder:{tiny_dataset}")
    extract_dataset(index, tmp_path / "flow", workers=1, show_progress=False)
    with pytest.raises(MotionlensError, match="method='farneback'.*--overwrite"):
        extract_dataset(index, tmp_path / "flow", method="dis", workers=1, show_progress=False)
    report = extract_dataset(index, tmp_path / "flow", method="dis", workers=1, overwrite=True, show_progress=False)
    assert len(report.extracted) == 4
    assert json.loads((tmp_path / "flow" / "left" / "left_0" / "done").read_text())["method"] == "dis"


def test_flow_inside_the_data_root_is_refused(tiny_dataset):
    with pytest.raises(MotionlensError, match="outside"):
        extract_dataset(build_index(f"folder:{tiny_dataset}"), tiny_dataset / "flow", show_progress=False)
