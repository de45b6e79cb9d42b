"""Two-stream models: per-frame spatial stream, stacked-flow temporal stream, fused TwoStream."""

import pytest
import torch
import torch.nn.functional as F

from motionlens.core.errors import MotionlensError
from motionlens.models.cfg import FLOW_MEAN, FLOW_STD
from motionlens.models import create_model, get_model_cfg, list_models, resnet2d_18
from motionlens.models.twostream import TwoStream


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny inputs: one thread is faster than two spin-waiting on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_streams_are_registered_with_their_input_contracts():
    assert {
        "spatial_resnet18",
        "spatial_resnet50",
        "temporal_resnet18",
        "temporal_resnet50",
        "temporal_3d",
        "temporal_r3d_18",
        "twostream",
    } <= set(list_models())
    assert get_model_cfg("spatial_resnet50").in_chans == 3 and get_model_cfg("spatial_resnet50").clip_len == 1
    flow = get_model_cfg("temporal_resnet50")
    assert (flow.in_chans, flow.clip_len, flow.mean, flow.std) == (2, 10, FLOW_MEAN, FLOW_STD)
    assert get_model_cfg("temporal_3d").in_chans == 2 and len(get_model_cfg("twostream").mean) == 5


def test_spatial_stream_averages_per_frame_logits_of_a_torchvision_keyed_resnet():
    torch.manual_seed(0)
    spatial = create_model("spatial_resnet18", num_classes=5).eval()
    image_net = resnet2d_18(num_classes=5).eval()
    image_net.load_state_dict(spatial.state_dict(), strict=True)  # the same keys as torchvision's ResNet-18
    clip = torch.randn(2, 3, 3, 32, 32)
    per_frame = torch.stack([image_net(clip[:, :, t]) for t in range(3)], 1)  # (B, T, K)
    with torch.no_grad():
        assert torch.allclose(spatial(clip), per_frame.mean(1), atol=1e-5)
        assert torch.allclose(spatial(clip[:, :, 0]), per_frame[:, 0], atol=1e-5)  # one (B, 3, H, W) frame


def test_pretrained_files_load_into_both_streams_with_cross_modality_init(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "resnet18-imagenet.pth"
    reference = resnet2d_18(num_classes=1000)
    torch.save(reference.state_dict(), path)
    spatial = create_model("spatial_resnet18", pretrained=str(path), num_classes=4)
    assert torch.equal(spatial.conv1.weight, reference.conv1.weight) and spatial.fc.out_features == 4
    temporal = create_model("temporal_resnet18", pretrained=str(path), num_classes=4, clip_len=3)
    assert temporal.conv1.weight.shape == (64, 6, 7, 7)
    rgb_mean = reference.conv1.weight.mean(dim=1)
    assert all(torch.allclose(temporal.conv1.weight[:, c], rgb_mean) for c in range(6))
    assert torch.equal(temporal.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)


def test_imagenet_tag_downloads_torchvisions_file(hub_dir, no_download):
    with pytest.raises(MotionlensError, match="could not download"):
        create_model("spatial_resnet50", pretrained="imagenet")
    assert no_download[0]["url"] == "https://download.pytorch.org/models/resnet50-0676ba61.pth"


def test_temporal_stream_stacks_flow_as_x1_y1_x2_y2():
    torch.manual_seed(0)
    temporal = create_model("temporal_resnet18", num_classes=3, clip_len=2).eval()
    plain = resnet2d_18(num_classes=3, in_chans=4).eval()
    plain.load_state_dict(temporal.state_dict(), strict=True)
    clip = torch.randn(2, 2, 2, 32, 32)  # (B, 2, L, H, W)
    stacked = torch.cat([clip[:, 0, :1], clip[:, 1, :1], clip[:, 0, 1:], clip[:, 1, 1:]], dim=1)  # x1, y1, x2, y2
    with torch.no_grad():
        assert torch.allclose(temporal(clip), plain(stacked), atol=1e-5)
        assert not torch.allclose(temporal(clip), plain(clip.flatten(1, 2)), atol=1e-3)  # x1, x2, y1, y2 differs


def test_temporal_clip_len_is_an_option_the_cfg_follows():
    temporal = create_model("temporal_resnet18", num_classes=3, clip_len=4)
    assert (temporal.cfg.clip_len, temporal.cfg.in_chans, temporal.cfg.input_size) == (4, 2, (2, 4, 224, 224))
    temporal.reset_classifier(6)
    assert temporal.cfg.num_classes == 6 and temporal.cfg.clip_len == 4
    with pytest.raises(MotionlensError, match="clip_len=6"):
        temporal(torch.randn(1, 2, 6, 32, 32))
    # Checkpoints store the input channels among the builder arguments; they must round-trip.
    for name in ("temporal_resnet18", "temporal_3d", "temporal_r3d_18"):
        assert create_model(name, num_classes=2, in_chans=2).cfg.in_chans == 2
    assert create_model("temporal_resnet18", num_classes=2, in_chans=3, clip_len=2).conv1.in_channels == 6


def test_twostream_returns_the_log_of_the_weighted_softmax_average():
    torch.manual_seed(0)
    model = create_model(
        "twostream", num_classes=4, spatial="spatial_resnet18", temporal="temporal_3d", weight=0.3
    ).eval()
    assert (model.in_chans, model.cfg.in_chans, model.cfg.clip_len, model.cfg.crop_size) == (5, 5, 16, 112)
    assert model.cfg.mean[3:] == FLOW_MEAN and model.cfg.std[:3] == get_model_cfg("spatial_resnet18").std
    clip = torch.randn(2, 5, 4, 32, 32)
    with torch.no_grad():
        fused = model(clip)
        s, t = model.spatial(clip[:, :3]), model.temporal(clip[:, 3:])
        s2, t2 = model.forward_streams(clip)
    expected = 0.3 * F.softmax(s, 1) + 0.7 * F.softmax(t, 1)
    assert torch.allclose(F.softmax(fused, 1), expected, atol=1e-6) and torch.allclose(fused.exp(), expected, atol=1e-6)
    assert torch.equal(s, s2) and torch.equal(t, t2)
    assert float(model.state_dict()["fusion_weight"]) == pytest.approx(0.3)
    only_spatial = TwoStream(model.spatial, model.temporal, weight=1.0).eval()
    with torch.no_grad():
        assert torch.allclose(only_spatial(clip), F.log_softmax(s, 1), atol=1e-6)


def test_twostream_refuses_streams_of_the_wrong_modality_or_a_bad_weight():
    with pytest.raises(MotionlensError, match="spatial stream must take 3"):
        create_model("twostream", num_classes=2, spatial="temporal_3d", temporal="temporal_3d")
    with pytest.raises(MotionlensError, match="5-channel"):
        create_model("twostream", num_classes=2, spatial="spatial_resnet18", temporal="temporal_3d", in_chans=3)
    with pytest.raises(MotionlensError, match=r"\[0, 1\]"):
        create_model("twostream", num_classes=2, spatial="spatial_resnet18", temporal="temporal_3d", weight=1.5)
