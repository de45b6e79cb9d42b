"""Flow clips from the RGB index: pairing by path, frame alignment, the last-frame clamp, modalities."""

import cv2
import numpy as np
import pytest
import torch

from motionlens.data.dataset import VideoClipDataset, rgb_decoder
from motionlens.data.flow_dataset import FLOW_MEAN, FLOW_STD, apply_modality, flow_decoder, rgb_flow_decoder
from motionlens.data.index import build_index
from motionlens.data.samplers import UniformClipSampler
from motionlens.data.transforms import ClipTransform
from motionlens.core.errors import MotionlensError, VideoError
from motionlens.data.flow_storage import dequantize, read_flow
from motionlens.dataprep.flow import extract_dataset
from motionlens.video import read_frames, write_video

STEPS = [1, 3, 1, 3, 2, 2, 4, 1]  # px moved right between frame k and k + 1


def sliding_frames(steps=STEPS, size=(48, 64), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wide = cv2.GaussianBlur(rng.uniform(0, 255, (size[0], size[1] + sum(steps) + 1, 3)).astype(np.float32), (0, 0), 2)
    wide = cv2.normalize(wide, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    offsets = np.concatenate([[0], np.cumsum(steps)])
    return np.stack([wide[:, sum(steps) - o: sum(steps) - o + size[1]] for o in offsets])  # len(steps) + 1 frames


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flowdata")
    root = tmp / "data"
    for cls, seed in (("a", 0), ("b", 1)):
        write_video(root / cls / f"{cls}_0.mp4", sliding_frames(seed=seed), fps=10, crf=10)
    index = build_index(f"folder:{root}", cache=False)
    extract_dataset(index, tmp / "flow", workers=1, show_progress=False)
    return index, tmp / "flow"


def test_flow_frame_k_is_the_motion_from_frame_k_to_k_plus_1_and_the_last_frame_is_clamped(extracted):
    index, flow_root = extracted
    record = index[0]
    assert record.num_frames == len(STEPS) + 1
    frames = list(range(record.num_frames))  # 9 frames ask for 9 flow frames; there are 8
    flow = flow_decoder(flow_root, index.root)(record, frames)
    assert flow.shape == (9, 48, 64, 2) and flow.dtype == np.uint8
    dx = np.median(dequantize(flow)[:, 10:-10, 10:-10, 0], axis=(1, 2))
    assert np.allclose(dx[:-1], STEPS, atol=0.5)
    assert np.array_equal(flow[-1], flow[-2])


def test_decoder_resizes_like_the_rgb_decoder(extracted):
    index, flow_root = extracted
    flow = flow_decoder(flow_root, index.root, size=24)(index[1], [0, 4])
    rgb = rgb_decoder(24)(index[1], [0, 4])
    assert flow.shape == (2, 24, 32, 2) and rgb.shape[:3] == flow.shape[:3]
    # Each stored plane resized bilinearly by OpenCV, as rgb_decoder resizes a frame folder's images
    # (on a video it uses swscale, whose downscaling filters other pixels).
    full = flow_decoder(flow_root, index.root)(index[1], [0, 4])  # (2, 48, 64, 2)
    bilinear = [[cv2.resize(frame[..., c], (32, 24), interpolation=cv2.INTER_LINEAR) for c in (0, 1)] for frame in full]
    assert np.array_equal(flow, np.array(bilinear).transpose(0, 2, 3, 1))


def test_dataset_yields_two_channel_clips_from_the_same_index(extracted):
    index, flow_root = extracted
    transform = ClipTransform(resize=32, crop_size=32, mean=FLOW_MEAN, std=FLOW_STD)
    dataset = VideoClipDataset(index, UniformClipSampler(clip_len=4, num_clips=2), transform,
                               decoder=flow_decoder(flow_root, index.root))
    sample = dataset[1]
    assert sample["video"].shape == (2, 2, 4, 32, 32) and sample["label"] == 1 and sample["failures"] == 0
    # Rightward motion of 1-4 px a frame: x above the no-motion level (0 after normalising; 1 px = 0.11).
    assert sample["video"][:, 0].mean() > 0.1
    assert sample["video"][:, 1].abs().mean() < 0.05


def test_apply_modality_swaps_the_decoder_and_a_flip_negates_flow_x(extracted):
    index, flow_root = extracted
    transform = ClipTransform(resize=32, crop_size=32, mean=FLOW_MEAN, std=FLOW_STD, train=True, flip=True)
    dataset = VideoClipDataset(index, UniformClipSampler(clip_len=4, num_clips=1), transform, decoder=rgb_decoder(32))
    assert apply_modality(dataset, "flow", flow_root, 32) is dataset
    assert dataset.transform.flip_negates_channel == 0
    signs = set()
    for seed in range(12):  # some draws flip, some do not
        torch.manual_seed(seed)
        signs.add(bool(dataset[0]["video"][:, 0].mean() > 0))
    assert signs == {True, False}


def test_rgb_plus_flow_stacks_five_aligned_channels(extracted):
    index, flow_root = extracted
    frames = rgb_flow_decoder(flow_root, index.root)(index[0], [2, 8])
    assert frames.shape == (2, 48, 64, 5)
    assert np.array_equal(frames[..., :3], read_frames(index[0].path, [2, 8]))
    assert np.array_equal(frames[..., 3:], read_flow(flow_root / "a" / "a_0", [2, 7]))
    dataset = VideoClipDataset(index, UniformClipSampler(clip_len=2, num_clips=1),
                               ClipTransform(32, 32, mean=(0.5,) * 5, std=(0.2,) * 5), decoder=rgb_decoder(32))
    apply_modality(dataset, "rgb+flow", flow_root, 32)
    assert dataset[0]["video"].shape == (1, 5, 2, 32, 32) and dataset.transform.flip_negates_channel == 3


def test_missing_flow_is_an_undecodable_video_and_bad_settings_are_user_errors(extracted, tmp_path):
    index, flow_root = extracted
    with pytest.raises(VideoError, match="motionlens flow"):
        flow_decoder(tmp_path / "empty", index.root)(index[0], [0])
    transform = ClipTransform(32, 32, mean=FLOW_MEAN, std=FLOW_STD)
    (tmp_path / "partial" / "a" / "a_0").mkdir(parents=True)  # no done marker: unfinished
    dataset = VideoClipDataset(index, UniformClipSampler(clip_len=2, num_clips=1), transform,
                               decoder=flow_decoder(tmp_path / "partial", index.root), max_retries=3)
    with pytest.raises(MotionlensError, match="undecodable"):
        dataset[0]
    with pytest.raises(MotionlensError, match="flow_root"):
        apply_modality(dataset, "flow", None)
    assert apply_modality(dataset, "rgb_diff", None) is dataset  # modalities without flow are left alone
    assert dataset.transform.flip_negates_channel is None
