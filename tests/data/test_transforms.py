import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motionlens.data.transforms import (
    ClipTransform,
    center_crop,
    normalize,
    resize,
    resized_size,
    three_crop,
    to_tensor,
)


def test_to_tensor_layout_and_range():
    frames = np.zeros((4, 6, 8, 3), dtype=np.uint8)
    frames[2, 1, 3] = (255, 0, 51)
    x = to_tensor(frames)
    assert x.shape == (3, 4, 6, 8) and x.dtype == torch.float32
    assert x[:, 2, 1, 3].tolist() == pytest.approx([1.0, 0.0, 0.2])


def test_resize_rule_matches_torchvision():
    # torchvision: an int sets the short side, the long side is int(size * long / short)
    assert resized_size(240, 320, 128) == (128, 170)
    assert resized_size(320, 240, 128) == (170, 128)
    assert resized_size(240, 320, (128, 171)) == (128, 171)


def test_video_preset_equivalence():
    """torchvision's VideoClassification preset, written out: per-frame bilinear resize (no antialias),
    centre crop with round((h - c) / 2), normalise, then (T, C, H, W) -> (C, T, H, W)."""
    torch.manual_seed(0)
    vid = torch.rand(5, 3, 90, 120)  # (T, C, H, W) as torchvision takes it
    mean, std = [0.43216, 0.394666, 0.37645], [0.22803, 0.22145, 0.216989]
    ref = F.interpolate(vid, size=(128, 171), mode="bilinear", align_corners=False, antialias=False)
    top, left = int(round((128 - 112) / 2.0)), int(round((171 - 112) / 2.0))
    ref = ref[..., top:top + 112, left:left + 112]
    ref = (ref - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    ref = ref.permute(1, 0, 2, 3)
    ours = ClipTransform(resize=(128, 171), crop_size=112, mean=mean, std=std)(vid.permute(1, 0, 2, 3))
    torch.testing.assert_close(ours, ref)


def test_center_and_three_crop_positions():
    clip = torch.arange(10 * 16, dtype=torch.float32).view(1, 1, 10, 16).expand(3, 2, 10, 16)
    c = center_crop(clip, 8)
    assert c.shape == (3, 2, 8, 8) and c[0, 0, 0, 0].item() == 1 * 16 + 4
    crops = three_crop(clip, 8)
    assert crops.shape == (3, 3, 2, 8, 8)
    assert [crops[i, 0, 0, 0, 0].item() for i in range(3)] == [16 + 0, 16 + 4, 16 + 8]


def test_train_transform_shapes_and_flip_of_flow():
    torch.manual_seed(0)
    frames = np.full((4, 20, 30, 2), 64, dtype=np.uint8)  # flow-x stored as 64/255
    t = ClipTransform(resize=16, crop_size=12, mean=(0.0, 0.0), std=(1.0, 1.0), train=True,
                      flip_negates_channel=0)
    seen = set()
    for _ in range(20):
        x = t(frames)
        assert x.shape == (2, 4, 12, 12)
        seen.add(round(float(x[0].mean()), 3))
    assert seen == {round(64 / 255, 3), round(1 - 64 / 255, 3)}  # flipped clips negate flow-x


def test_normalize_and_resize_identity():
    clip = torch.rand(3, 2, 8, 8)
    assert resize(clip, 8) is clip
    out = normalize(clip, [0.5] * 3, [0.25] * 3)
    torch.testing.assert_close(out, (clip - 0.5) / 0.25)


def test_resize_numerics_follow_the_contract():
    from PIL import Image

    torch.manual_seed(0)
    frames = torch.randint(0, 256, (2, 90, 120, 3), dtype=torch.uint8)  # noise: where filters differ most
    clip = to_tensor(frames)  # (C, T, H, W)
    plain = resize(clip, (45, 60))
    smooth = resize(clip, (45, 60), antialias=True)
    assert (plain - smooth).abs().max() > 20 / 255  # antialias is another image on noise
    pil = np.asarray(Image.fromarray(frames[0].numpy()).resize((60, 45), Image.BILINEAR))  # Hara's Scale
    ours = resize(clip, (45, 60), antialias=True, round_resized=True)[:, 0].permute(1, 2, 0) * 255
    assert (ours - torch.from_numpy(pil.copy()).float()).abs().max() <= 1.0 + 1e-4
    rounded = resize(clip, (45, 60), round_resized=True) * 255
    assert torch.allclose(rounded, rounded.round(), atol=1e-3)  # whole grey levels, as uint8 resizing gives
    assert (rounded / 255 - plain).abs().max() <= 0.5 / 255 + 1e-6


def test_bgr_channel_order_reverses_channels():
    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    frames[..., 0] = 255  # red
    rgb = ClipTransform(8, 8, mean=(0.0,) * 3, std=(1.0,) * 3)(frames)
    bgr = ClipTransform(8, 8, mean=(0.0,) * 3, std=(1.0,) * 3, channel_order="BGR")(frames)
    assert rgb[0].min() == 1.0 and bgr[2].min() == 1.0 and bgr[0].max() == 0.0


@pytest.mark.parametrize("modality, channels", [("diff", 3), ("rgb_diff", 6)])
def test_frame_difference_modalities(modality, channels):
    from motionlens.data.pipeline import MODALITY_CHANNELS, eval_transform
    from motionlens.data.spec import InputSpec

    frames = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    frames[1] = 51  # 0.2 after /255
    frames[2:] = 255
    pipe = InputSpec(clip_len=4, frame_stride=1, target_fps=None, resize=8, crop_size=8,
                    mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), modality=modality)
    x = eval_transform(pipe)(frames)  # (C, T, H, W)
    assert x.shape == (channels, 4, 8, 8) and MODALITY_CHANNELS[modality] == channels
    diff = x[-3:, :, 0, 0]  # the differences of normalised frames: (frame - previous) / std, 0 first
    assert torch.allclose(diff, torch.tensor([0.0, 0.8, 3.2, 0.0]).expand(3, 4), atol=1e-5)
    if modality == "rgb_diff":  # the normalised frames come first
        assert torch.allclose(x[:3, :, 0, 0], torch.tensor([-2.0, -1.2, 2.0, 2.0]).expand(3, 4), atol=1e-5)


@pytest.mark.parametrize("kw", [dict(num_crops=3, differences="append", round_resized=True),
                                dict(differences="only", antialias=True, channel_order="BGR", resize=(40, 50))])
def test_frames_transformed_one_by_one_join_into_the_clip_bit_for_bit(kw):
    from motionlens.data.transforms import ClipTransform

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the callers run it: a resize's last bit depends on the thread split
    try:
        _check_frames_join(ClipTransform, kw)
    finally:
        torch.set_num_threads(threads)


def _check_frames_join(ClipTransform, kw):
    frames = np.random.default_rng(0).integers(0, 256, (6, 45, 70, 3), dtype=np.uint8)
    t = ClipTransform(**{"resize": 36, "crop_size": 32, "mean": (0.4, 0.5, 0.6), "std": (0.2, 0.25, 0.3), **kw})
    parts = [t.spatial(frames[i:i + 1]) for i in range(6)]  # (C, 1, S, S), or (3, C, 1, S, S)
    whole = t(frames)
    assert whole.shape[-3] == 6 and torch.equal(t.join(parts), whole)
    assert not torch.equal(t.join(parts[::-1]), whole)  # frame order matters (differences, time)
    with pytest.raises(ValueError, match="per clip"):
        ClipTransform(36, 32, (0.5,) * 3, (0.2,) * 3, train=True).spatial(frames)
