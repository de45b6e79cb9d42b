"""CRNN: per-frame encoders, ImageNet encoder weights, freezing the encoder."""

from __future__ import annotations

import pytest
import torch

from motionlens.core.errors import MotionlensError
from motionlens.models import create_model, resnet2d_18


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory):
    torch.manual_seed(2)
    source = resnet2d_18()  # 1000-way, torchvision layout
    path = tmp_path_factory.mktemp("imagenet") / "resnet18-f37072fd.pth"
    torch.save(source.state_dict(), path)
    return source, path


def test_encoder_pretrained_from_a_file(imagenet_file):
    source, path = imagenet_file
    model = create_model("crnn_resnet18", num_classes=5, encoder_pretrained=path).eval()
    assert torch.equal(model.encoder.layer4[1].conv2.weight, source.layer4[1].conv2.weight)
    assert "encoder.fc.weight" not in model.state_dict()  # the ImageNet classifier is dropped
    frames = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(
            model.encoder(frames),
            source.eval().forward_head(source.forward_features(frames), pre_logits=True),
            atol=1e-5,
        )


def test_encoder_pretrained_imagenet_uses_the_hub_cache(hub_dir, no_download, imagenet_file):
    source, path = imagenet_file
    (hub_dir / path.name).write_bytes(path.read_bytes())
    model = create_model("crnn_resnet18", encoder_pretrained="imagenet")
    assert torch.equal(model.encoder.conv1.weight, source.conv1.weight) and no_download == []


def test_freeze_encoder(imagenet_file):
    _, path = imagenet_file
    model = create_model("crnn_resnet18", num_classes=2, encoder_pretrained=path, freeze_encoder=True).train()
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"lstm", "fc"}
    assert not model.encoder.bn1.training and not model.encoder.layer2[0].bn1.training
    model(torch.randn(2, 3, 4, 32, 32)).sum().backward()
    assert model.encoder.conv1.weight.grad is None and model.lstm.weight_ih_l0.grad is not None


def test_frames_are_encoded_independently_then_read_in_order():
    model = create_model("crnn", num_classes=3).eval()
    clip = torch.randn(1, 3, 6, 48, 48)
    with torch.no_grad():
        features = model.forward_features(clip)
        assert features.shape == (1, 6, model.num_features)
        # The LSTM is causal: features at step t ignore later frames.
        changed = clip.clone()
        changed[:, :, 4:] = 0
        assert torch.allclose(model.forward_features(changed)[:, :4], features[:, :4], atol=1e-6)
        assert not torch.allclose(model(changed), model(clip))


def test_bad_encoder_options():
    with pytest.raises(MotionlensError, match="needs a ResNet encoder"):
        create_model("crnn", encoder_pretrained="imagenet")
    from motionlens.models.crnn import CRNN

    with pytest.raises(MotionlensError, match="unknown CRNN encoder 'vgg16'"):
        CRNN(encoder="vgg16")


def test_imagenet_statistics_for_resnet_encoders():
    from motionlens.models import get_model_cfg

    assert get_model_cfg("crnn_resnet50").mean == (0.485, 0.456, 0.406)
    assert get_model_cfg("crnn_resnet50").std == (0.229, 0.224, 0.225)
