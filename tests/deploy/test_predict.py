"""Sliding-window inference on whole videos: windows, bounded memory, tiling, model loading, output video."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import motionlens
from motionlens.data.spec import InputSpec
from motionlens.deploy.predict import Predictor, load_predictor, predict, score_video, tile_segments, to_hara
from motionlens.core.errors import MotionlensError
from motionlens.models import create_model
from motionlens.training.checkpoint import save_checkpoint
from motionlens.video import count_frames, probe, write_video

PIPE = InputSpec(clip_len=4, frame_stride=1, target_fps=None, resize=32, crop_size=32,
                mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


class Brightness(nn.Module):
    """Two classes, "bright" and "dark", scored from the clip's mean normalised brightness."""

    num_classes = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3, 4))  # (B,)
        return torch.stack([8 * m, -8 * m], dim=1)  # (B, 2)


def flash_video(path, num_frames=100, bright=(40, 70), fps=25.0, size=(32, 40)):
    """Dark frames, bright ones in [bright[0], bright[1]), dark again."""
    frames = np.full((num_frames, *size, 3), 40, dtype=np.uint8)
    frames[bright[0]:bright[1]] = 215
    frames += np.random.default_rng(0).integers(0, 8, frames.shape, dtype=np.uint8)
    return write_video(path, frames, fps)


def brightness_predictor(**kw) -> Predictor:
    return load_predictor(Brightness(), pipeline=PIPE, classes=["bright", "dark"], device="cpu", **kw)


def test_segments_tile_the_video_without_gaps_or_overlaps():
    starts, ends = [0, 5, 10, 13], [7, 12, 17, 20]
    tiles = tile_segments(starts, ends, 21)
    assert tiles[0][0] == 0 and tiles[-1][1] == 21
    assert all(a[1] == b[0] for a, b in zip(tiles, tiles[1:]))
    assert all(b > a for a, b in tiles)
    for (a, b), s, e in zip(tiles, starts, ends):  # each frame goes to the window with the nearest centre
        centres = (np.array(starts) + np.array(ends)) / 2
        for f in range(a, b):
            assert np.argmin(np.abs(centres - f)) == starts.index(s)


def test_predict_tiles_the_video_and_averages_windows(tmp_path):
    video = flash_video(tmp_path / "flash.mp4", num_frames=100)
    result = predict(video, Brightness(), pipeline=PIPE, classes=["bright", "dark"], window_stride=3, top_k=2, device="cpu")
    segments = result["segments"]
    assert result["frames"] == 100 and result["fps"] == 25.0 and result["duration"] == pytest.approx(4.0)
    assert segments[0]["start_frame"] == 0 and segments[-1]["end_frame"] == 100
    for a, b in zip(segments, segments[1:]):
        assert a["end_frame"] == b["start_frame"] and a["end_sec"] == pytest.approx(b["start_sec"])
    assert sum(s["end_frame"] - s["start_frame"] for s in segments) == 100
    assert segments[-1]["window"][1] == 99  # the last window is aligned to the end
    # the video score is the mean of the window scores
    per_window = np.array([[dict(s["top_k"])[c] for c in ("bright", "dark")] for s in segments])
    video = dict(result["top_k"])
    assert per_window.mean(axis=0) == pytest.approx([video["bright"], video["dark"]], abs=1e-5)
    # windows inside the flash say "bright", the others "dark"
    labels = {s["label"] for s in segments if 44 <= s["start_frame"] and s["end_frame"] <= 66}
    assert labels == {"bright"}
    assert segments[0]["label"] == "dark" and segments[-1]["label"] == "dark"


def test_memory_is_bounded_by_one_window_span(tmp_path):
    frames = np.random.default_rng(1).integers(0, 255, (603, 24, 32, 3), dtype=np.uint8)
    video = write_video(tmp_path / "long.mp4", frames, 25.0)
    pipe = InputSpec(clip_len=4, frame_stride=3, target_fps=None, resize=24, crop_size=24, mean=PIPE.mean, std=PIPE.std)
    predictor = load_predictor(Brightness(), pipeline=pipe, classes=["bright", "dark"], device="cpu")
    scores = score_video(predictor, video, window_stride=10, batch_size=4)
    span = (4 - 1) * 3 + 1
    assert scores.frames == 603
    assert scores.max_buffered == span  # the ring buffer never held more than one window
    assert len(scores.starts) == len(range(0, 603 - span + 1, 10)) + 1  # plus the end-aligned window
    assert scores.starts[-1] == 603 - span and scores.ends[-1] == 602


def test_short_video_gets_one_looping_window(tmp_path):
    video = flash_video(tmp_path / "short.mp4", num_frames=3, bright=(0, 0))
    result = predict(video, Brightness(), pipeline=PIPE, classes=["bright", "dark"], device="cpu")
    assert len(result["segments"]) == 1
    assert result["segments"][0]["start_frame"] == 0 and result["segments"][0]["end_frame"] == 3


def test_threshold_adds_events_at_the_right_time(tmp_path):
    video = flash_video(tmp_path / "flash.mp4", num_frames=100, bright=(40, 70))
    result = predict(video, Brightness(), pipeline=PIPE, classes=["bright", "dark"], window_stride=2, threshold=0.9,
                     smooth=3, device="cpu")
    bright = [e for e in result["events"] if e["label"] == "bright"]
    assert len(bright) == 1
    assert bright[0]["start_sec"] == pytest.approx(40 / 25, abs=0.2)
    assert bright[0]["end_sec"] == pytest.approx(70 / 25, abs=0.2)
    assert bright[0]["peak_score"] > 0.9


def test_fast_path_gives_the_eager_scores(tmp_path):
    video = flash_video(tmp_path / "flash.mp4", num_frames=40)
    model = create_model("cnn3d_small", num_classes=3).eval()
    pipe = InputSpec(clip_len=8, frame_stride=1, target_fps=None, resize=64, crop_size=64, mean=PIPE.mean, std=PIPE.std)
    eager = load_predictor(model, pipeline=pipe, classes=list("abc"), device="cpu")
    fast = load_predictor(model, pipeline=pipe, classes=list("abc"), device="cpu", fast=True)
    a = score_video(eager, video, window_stride=4, batch_size=3)  # 9 windows: batches of 3, 3, 3
    b = score_video(fast, video, window_stride=5, batch_size=4)  # 8 windows: the traced batch of 4 runs a batch of ... 4
    c = score_video(fast, video, window_stride=4, batch_size=4)  # 9 windows: a last batch of 1
    assert np.allclose(a.probs, c.probs, atol=1e-5)
    assert b.probs.shape == (8, 3)


def test_run_checkpoint_brings_its_pipeline_and_classes(tmp_path):
    model = create_model("cnn3d_small", num_classes=3)
    pipe = InputSpec(clip_len=8, frame_stride=2, target_fps=None, resize=64, crop_size=64, mean=PIPE.mean, std=PIPE.std)
    save_checkpoint({"model": model.state_dict(), "config": {}, "classes": ["jump", "run", "sit"],
                     "pipeline": pipe.to_dict(), "model_name": "cnn3d_small", "model_options": {}},
                    tmp_path / "run" / "checkpoints" / "best.pt")
    predictor = load_predictor(tmp_path / "run", device="cpu")
    assert predictor.classes == ["jump", "run", "sit"]
    assert predictor.pipeline == pipe
    video = flash_video(tmp_path / "v.mp4", num_frames=30)
    result = predict(video, predictor, top_k=3)
    assert result["label"] in {"jump", "run", "sit"}
    assert result["segments"][0]["window"] == [0, 14]  # 8 frames every 2
    hara = predict(video, predictor, format="hara")
    assert hara["video"] == "v.mp4"
    assert hara["clips"][0]["segment"] == [1, 15]  # 1-based, inclusive, as Hara's script writes
    assert len(hara["clips"][0]["scores"]) == 3 and hara["clips"][0]["label"] in {"jump", "run", "sit"}


def test_pretrained_file_keeps_the_model_cfg_label_names(tmp_path):
    from motionlens.labels import kinetics400_classes
    from motionlens.models import get_model_cfg

    assert len(get_model_cfg("r3d_18").label_names) == 400
    weights = tmp_path / "x3d_xs_k400.pth"
    torch.save(create_model("x3d_xs").state_dict(), weights)
    predictor = load_predictor("x3d_xs", pretrained=str(weights), device="cpu")
    assert predictor.classes == kinetics400_classes()
    assert predictor.pipeline.clip_len == 4 and predictor.pipeline.clip_seconds == pytest.approx(1.6)
    assert (predictor.pipeline.resize, predictor.pipeline.crop_size) == (182, 182)
    video = flash_video(tmp_path / "v.mp4", num_frames=60)
    result = predict(video, predictor, window_stride=10)
    assert result["label"] in kinetics400_classes()
    # X3D's 1.6 s windows are 40 frames at 25 fps: starts 0, 10, then 20, aligned to the end
    assert [s["window"] for s in result["segments"]] == [[0, 39], [10, 49], [20, 59]]


def test_predict_resamples_to_the_weights_frame_rate(tmp_path):
    """r3d_18's Kinetics weights see 15 fps: predict reads the resampled video's frames, as training does."""
    from motionlens.data.resample import resample_indices
    from motionlens.video import frame_times

    video = flash_video(tmp_path / "v.mp4", num_frames=75)  # 3 s at 25 fps: 45 frames at 15 fps
    predictor = load_predictor(create_model("r3d_18", num_classes=2), classes=["a", "b"], device="cpu")
    assert predictor.pipeline.target_fps == 15.0
    result = predict(video, predictor, window_stride=25)
    grid = resample_indices(frame_times(video), 15)
    starts = [s["window"][0] for s in result["segments"]]
    assert starts == [int(grid[k]) for k in (0, 15, 29)]  # 25 source frames = 15 resampled; last aligned to the end
    assert result["frames"] == 75 and result["fps"] == 25.0


def test_unknown_model_is_a_one_line_error():
    with pytest.raises(MotionlensError, match="unknown model 'x3d_xz'.*x3d_xs"):
        load_predictor("x3d_xz")
    with pytest.raises(MotionlensError, match="not found"):
        load_predictor("runs/missing")


def test_hara_needs_logits():
    scores = type("S", (), {"logits": None})()
    with pytest.raises(ValueError):
        to_hara(scores, ["a"])


def test_output_video_has_the_input_frame_count_and_rate(tmp_path):
    video = flash_video(tmp_path / "flash.mp4", num_frames=48, fps=24.0, size=(64, 80))
    out = tmp_path / "annotated.mp4"
    result = predict(video, Brightness(), pipeline=PIPE, classes=["bright", "dark"], device="cpu", output_video=out)
    info = probe(out)
    assert count_frames(out) == 48 == result["frames"]
    assert info.fps == pytest.approx(24.0)
    assert (info.height, info.width) == (64, 80)
    assert info.codec in ("h264", "mpeg4")
    frames = motionlens.video.read_frames(out, [0, 47])
    original = motionlens.video.read_frames(video, [0, 47])
    assert np.abs(frames.astype(int) - original.astype(int)).mean() > 5  # something was drawn
    assert not np.array_equal(frames[0, -12:], frames[1, -12:])  # the timeline cursor moved


def test_package_level_predict_is_the_engine_one(tmp_path):
    video = flash_video(tmp_path / "v.mp4", num_frames=20)
    result = motionlens.predict(video, Brightness(), pipeline=PIPE, classes=["bright", "dark"], device="cpu")
    assert result["segments"][-1]["end_frame"] == 20


class PerWindow(Predictor):
    """The transform applied to each window's full-size frames, as predict did before frames were prepared once."""

    def prepare(self, image):
        return image

    def window_clips(self, windows):
        return self.clips([np.stack(w) for w in windows])


def _contract(name: str, **changes) -> InputSpec:
    from dataclasses import replace

    from motionlens.data.spec import as_spec

    return replace(as_spec(name), **changes)


CONTRACTS = {  # the weights' numerics that prepared frames must keep, bit for bit
    "r3d_18 (15 fps, 128x171, round, crop 112)": _contract("r3d_18"),
    "x3d_xs (clip_seconds, short side 182)": _contract("x3d_xs"),
    "hara resnet3d_34 (antialias, round), BGR": _contract("resnet3d_34", channel_order="BGR"),
    "cnn3d_small diff": _contract("cnn3d_small", modality="diff"),
    "cnn3d_small rgb_diff, decoder resize": _contract("cnn3d_small", modality="rgb_diff", decoder_resize=True),
}


def _small_net(spec: InputSpec) -> nn.Module:
    torch.manual_seed(0)
    return create_model("cnn3d_small", num_classes=5, in_chans=6 if spec.modality == "rgb_diff" else 3).eval()


@pytest.mark.parametrize("name", list(CONTRACTS))
def test_frames_prepared_once_give_the_per_window_logits_bit_for_bit(name, sample_videos, make_video):
    spec = CONTRACTS[name]
    net, classes = _small_net(spec), [str(i) for i in range(5)]
    # bikes: 640x272 at 25 fps (15 fps drops frames); a 10 fps file makes 15 fps repeat them
    for video in (sample_videos[1], make_video("ten.mp4", num_frames=45, size=(96, 128), fps=10.0)):
        once = score_video(Predictor(net, spec, classes), video, keep_logits=True)
        per_window = score_video(PerWindow(net, spec, classes), video, keep_logits=True)
        assert len(once.starts) >= 2 and np.array_equal(once.starts, per_window.starts)
        assert np.array_equal(once.logits, per_window.logits), name
        assert np.array_equal(once.probs, per_window.probs)


def test_each_decoded_frame_is_resized_at_most_once(sample_videos, make_video, monkeypatch):
    from motionlens.data import transforms

    resized = []
    real = transforms.resize
    monkeypatch.setattr(transforms, "resize",
                        lambda clip, *a, **kw: resized.append(clip.shape[1]) or real(clip, *a, **kw))
    spec = CONTRACTS["r3d_18 (15 fps, 128x171, round, crop 112)"]
    predictor = Predictor(_small_net(spec), spec, [str(i) for i in range(5)])
    for video in (sample_videos[1], make_video("ten.mp4", num_frames=45, size=(96, 128), fps=10.0)):
        resized.clear()
        scores = score_video(predictor, video)
        windows = len(scores.starts)
        assert windows >= 4 and max(resized) <= spec.clip_len // 2  # chunks of a window stride, not windows
        assert 0 < sum(resized) <= count_frames(video)  # overlapping windows share their frames' one resize
        assert sum(resized) < windows * spec.clip_len * 0.7  # what resizing per window costs


def test_prepared_clips_are_evaluations_whatever_the_thread_count(sample_videos):
    from motionlens.data.pipeline import eval_transform
    from motionlens.video import iter_frames

    spec = CONTRACTS["r3d_18 (15 fps, 128x171, round, crop 112)"]
    frames = np.stack([f.image for _, f in zip(range(16), iter_frames(sample_videos[1]))])  # (16, 272, 640, 3)
    predictor, threads = Predictor(None, spec, ["a"]), torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # as in DataLoader workers: evaluation's numerics
        reference = eval_transform(spec)(frames)[None]  # (1, 3, 16, 112, 112)
        for n in (1, 2):
            torch.set_num_threads(n)
            assert torch.equal(predictor.window_clips([predictor.prepare(list(frames))]), reference)
            assert torch.equal(predictor.clips([frames]), reference)
            assert torch.get_num_threads() == n  # the model keeps its threads
    finally:
        torch.set_num_threads(threads)
