"""The one InputSpec: its resolution (`resolve_input`) and where it chooses a clip's frames
(motionlens/data/spec.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from motionlens import clip_input
from motionlens.config import DataConfig, ModelConfig, OptimConfig, TrainConfig
from motionlens.data.flow_dataset import FLOW_MEAN
from motionlens.data.index import VideoIndex, VideoRecord, build_index
from motionlens.data.pipeline import make_dataset
from motionlens.data.samplers import RandomClipSampler, UniformClipSampler
from motionlens.data.spec import InputSpec, as_spec, reference_eval, resolve_input
from motionlens.models import get_model_cfg, get_weights
from motionlens.video import frame_times

STATS = dict(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))


def spec(**timing) -> InputSpec:
    return InputSpec(**{"clip_len": 4, "frame_stride": 1, "target_fps": None, "resize": 32, "crop_size": 32,
                        **STATS, **timing})


def fake_record(fps: float, frames: int) -> VideoRecord:
    """A record whose file does not exist: its frames are timed at `fps` (as frame folders are)."""
    return VideoRecord(path="/nonexistent/v.mp4", label=0, class_name="a", fps=fps, num_frames=frames)


def test_resampled_clips_span_equal_times_whatever_the_source_rate():
    s = spec(clip_len=5, target_fps=10.0)
    (c30,) = s.clips(RandomClipSampler(clip_len=5), fake_record(30.0, 300), np.random.default_rng(0))
    (c10,) = s.clips(RandomClipSampler(clip_len=5), fake_record(10.0, 100), np.random.default_rng(0))
    assert np.diff(c30.indices).tolist() == [3, 3, 3, 3]
    assert np.diff(c10.indices).tolist() == [1, 1, 1, 1]
    (native,) = spec(clip_len=5, frame_stride=2).clips(UniformClipSampler(clip_len=5, frame_stride=2, num_clips=1),
                                                       fake_record(30.0, 20), None)
    assert native.indices == (5, 7, 9, 11, 13)  # centred: (20 - 9) // 2 = 5


def test_clip_seconds_spread_clip_len_frames_over_that_time():
    s = spec(clip_len=4, frame_stride=12, clip_seconds=1.6)  # X3D-XS: 4 frames over 1.6 s
    (clip,) = s.clips(UniformClipSampler(clip_len=4, num_clips=1), fake_record(30.0, 48), None)
    assert clip.indices == (0, 15, 31, 47)  # 48 frames shown in 1.6 s at 30 fps, evenly spread
    times = np.arange(90) / 30.0
    assert s.frame_indices(times, 1.0).tolist() == [30, 45, 61, 77]


def test_window_strides_of_predict_and_watch():
    assert spec(clip_len=16).default_window_stride(25.0) == 8
    assert spec(clip_len=16, target_fps=15.0).default_window_stride(30.0) == 16  # 16 frames at 15 fps = 32 at 30
    offsets, stride = spec(clip_len=4, target_fps=20.0).stream_windows(30.0)
    assert offsets.tolist() == [0, 1, 3, 4] and stride == 2
    assert spec(clip_len=4).stream_windows(30.0, window_stride=7)[1] == 7


@pytest.mark.parametrize("timing", [dict(), dict(frame_stride=2), dict(target_fps=15.0, frame_stride=2),
                                    dict(clip_seconds=0.5)])
def test_predict_watch_clip_input_and_the_dataset_choose_the_same_frames(make_video, tmp_path, timing):
    video = make_video("v.mp4", num_frames=45, size=(32, 40), fps=30.0)
    times = frame_times(video)
    s = spec(**timing)
    # predict: the windows over the file, in source frame numbers
    plan = s.file_windows(30.0, lambda: times, window_stride=5)
    pushed = plan.source if plan.source is not None else np.arange(len(times))
    windows = [w for f in pushed for w in plan.windows.push(f)] + plan.windows.finish()
    assert len(windows) >= 3
    rel, _ = s.stream_windows(30.0)
    for w in windows:
        frames = np.asarray(w.frames)  # (T,) source frames of the window
        start = int(frames[0])
        assert s.frame_indices(times, times[start]).tolist() == frames.tolist()  # clip_input's frames
        if start + rel[-1] < len(times):  # watch, on the live stream of the same frames
            assert (start + rel).tolist() == frames.tolist()
    # the dataset: each evaluation clip is the clip that starts at its first frame's time
    (tmp_path / "data" / "a").mkdir(parents=True)
    video.rename(tmp_path / "data" / "a" / "v.mp4")
    index = build_index(f"folder:{tmp_path / 'data'}")
    data = DataConfig(eval_clips=3, eval_crops=1, train_sampler="random")
    dataset = make_dataset(index, s, train=False, data=data)
    clips = dataset.clips(index[0], None)
    assert len(clips) == 3
    for clip in clips:
        assert s.frame_indices(times, times[clip.indices[0]]).tolist() == list(clip.indices)
    first = clips[1]
    tensor = clip_input(index[0].path, s, float(times[first.indices[0]]))  # (C, T, H, W)
    assert torch.equal(tensor, dataset[0]["video"][1])


def test_old_checkpoint_dicts_and_as_spec():
    old = {"clip_len": 8, "frame_stride": 1, "target_fps": 15.0, "resize": [64, 80], "crop_size": 56,
           "mean": [0.5] * 3, "std": [0.2] * 3, "modality": None, "no_longer_known": 1}
    s = InputSpec.from_dict(old)
    assert (s.resize, s.modality, s.mean, s.target_fps) == ((64, 80), "rgb", (0.5,) * 3, 15.0)
    assert InputSpec.from_dict(s.to_dict()) == s
    assert as_spec("r3d_18") == as_spec(get_model_cfg("r3d_18")) and as_spec(s) is s
    assert as_spec("r3d_18").target_fps == 15.0


def test_resolver_precedence_recipe_contract_override():
    contract = get_weights("r3d_18")["kinetics400"]
    base = TrainConfig(model=ModelConfig(name="r3d_18", pretrained="kinetics400"))
    cfg, s = resolve_input(base, contract)
    # recipe (pretrained) for what the contract does not say; the contract for the input
    assert (cfg.optim.optimizer, cfg.optim.lr, cfg.data.modality, cfg.data.train_sampler) == ("sgd", 0.01, "rgb", "random")
    assert (s.clip_len, s.target_fps, s.resize, cfg.data.target_fps, cfg.data.clip_len) == (16, 15.0, (128, 171), 15.0, 16)
    # the config's own values win over both
    mine = replace(base, optim=OptimConfig(lr=0.5), data=DataConfig(clip_len=8, target_fps="native", modality="diff"))
    cfg, s = resolve_input(mine, contract)
    assert (cfg.optim.lr, cfg.optim.optimizer, s.clip_len, s.target_fps, s.modality) == (0.5, "sgd", 8, None, "diff")
    assert cfg.data.target_fps == "native"
    assert resolve_input(cfg, contract) == (cfg, s)  # resolving a resolved config (a resumed run) changes nothing
    # scratch: the scratch recipe
    cfg, s = resolve_input(TrainConfig(model=ModelConfig(name="cnn3d_small")), get_model_cfg("cnn3d_small"))
    assert (cfg.optim.optimizer, cfg.data.modality, cfg.data.train_sampler, cfg.data.hflip) == ("adamw", "diff", "tsn", False)


def test_eval_protocol_defaults_to_the_weights_reference():
    def protocol(name, **data):
        cfg, _ = resolve_input(TrainConfig(data=DataConfig(**data), model=ModelConfig(name=name)), get_model_cfg(name))
        return cfg.data.eval_clips, cfg.data.eval_crops

    assert protocol("x3d_xs") == (10, 3)  # PyTorchVideo's 10 clips x 3 crops
    assert protocol("x3d_xs", eval_clips=2) == (2, 3) and protocol("x3d_xs", eval_crops=1) == (10, 1)
    assert protocol("r3d_18") == (5, 1)  # torchvision's reference
    assert protocol("cnn3d_small") == (5, 1)  # no reference stated
    assert reference_eval(get_model_cfg("resnet3d_18")) == (5, 1)  # Hara's "every clip" is not a uniform count


def test_tsn_stride_and_modality_statistics_are_resolved_once():
    records = [VideoRecord(path=f"/x/{i}.mp4", label=0, class_name="a", fps=25.0, num_frames=n)
               for i, n in enumerate((40, 80, 120))]
    index = VideoIndex(records, ["a"], root=None)
    model = get_model_cfg("cnn3d_small")
    cfg, s = resolve_input(TrainConfig(data=DataConfig(clip_len=8), model=ModelConfig(name="cnn3d_small")), model, index)
    assert s.frame_stride == cfg.data.frame_stride == 10  # median 80 frames over 8
    assert resolve_input(cfg, model) == (cfg, s)  # the saved config keeps it, with no index at hand
    flow = TrainConfig(data=DataConfig(modality="flow"), model=ModelConfig(name="cnn3d_small"))
    assert resolve_input(flow, model)[1].mean == tuple(FLOW_MEAN)
