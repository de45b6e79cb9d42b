"""C3D (Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks", ICCV 2015).

Eight 3x3x3 convolutions (no BatchNorm, as the original), five max pools, fc6/fc7 of 4096 with
dropout 0.5, fc8. Key names follow the common PyTorch port (DavideA/c3d-pytorch: ``conv1``,
``conv2``, ``conv3a``...``conv5b``, ``fc6``-``fc8``) so its Sports-1M weights load by path.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import VideoClassifier
from .cfg import ModelCfg, weights_cfg
from .registry import register_model

default_cfgs = {
    "c3d": {
        # Trained from scratch here: 16 frames, 128x171 resize, 112 crop as in the paper, [0, 1] pixels.
        "": ModelCfg(name="c3d", resize=(128, 171), crop_size=112, clip_len=16, decoder_resize_ok=True,
                     source="motionlens default (C3D paper geometry)"),
        # The port's Sports-1M weights take what its predict.py feeds them: frames resized to
        # 112x200 by skimage (order 1, no antialiasing in the skimage of its day), columns 44:156,
        # float 0-255 RGB with no mean subtracted, 16 frames. 487 Sports-1M classes.
        "sports1m": weights_cfg(
            ModelCfg(
                name="c3d", num_classes=487, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_scale=255.0,
                resize=(112, 200), antialias=False, crop_size=112, clip_len=16,
                source=("DavideA/c3d-pytorch predict.py get_sport_clip: resize(io.imread(frame), output_shape=(112, 200), "
                        "preserve_range=True); clip[:, :, 44:44+112, :]; np.float32, no mean; 16 frames"),
            ),
            "sports1m",
            "http://imagelab.ing.unimore.it/files/c3d_pytorch/c3d.pickle",
        ),
    },
}


def _conv(in_planes: int, out_planes: int) -> nn.Conv3d:
    return nn.Conv3d(in_planes, out_planes, kernel_size=3, padding=1)


class C3D(VideoClassifier):
    """C3D for 16x112x112 clips. Adaptive pooling after pool5 accepts other frame sizes (>= 32 px);
    clips need at least 16 frames, as the four temporal poolings halve T down to 1."""

    stage_names = ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b", "fc6", "fc7", "fc8")
    classifier_name = "fc8"
    first_conv = "conv1"

    def __init__(self, num_classes: int = 400, in_chans: int = 3, dropout: float = 0.5):
        super().__init__()
        self.num_classes, self.in_chans, self.num_features = num_classes, in_chans, 4096
        self.conv1 = _conv(in_chans, 64)
        self.pool1 = nn.MaxPool3d(kernel_size=(1, 2, 2), stride=(1, 2, 2))  # keep early temporal signal
        self.conv2 = _conv(64, 128)
        self.pool2 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv3a, self.conv3b = _conv(128, 256), _conv(256, 256)
        self.pool3 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv4a, self.conv4b = _conv(256, 512), _conv(512, 512)
        self.pool4 = nn.MaxPool3d(kernel_size=2, stride=2)
        self.conv5a, self.conv5b = _conv(512, 512), _conv(512, 512)
        # Padding (0, 1, 1) turns 7x7 into 4x4, so fc6 sees 512*1*4*4 = 8192 inputs at 16x112x112.
        self.pool5 = nn.MaxPool3d(kernel_size=2, stride=2, padding=(0, 1, 1))
        # Identity at 16x112x112; for other clip sizes it restores the (1, 4, 4) grid fc6 needs.
        self.fit = nn.AdaptiveAvgPool3d((1, 4, 4))
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.005 if m is not self.fc8 else 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu(self.conv1(x)))  # (B, 64, 16, 56, 56)
        x = self.pool2(self.relu(self.conv2(x)))  # (B, 128, 8, 28, 28)
        x = self.pool3(self.relu(self.conv3b(self.relu(self.conv3a(x)))))  # (B, 256, 4, 14, 14)
        x = self.pool4(self.relu(self.conv4b(self.relu(self.conv4a(x)))))  # (B, 512, 2, 7, 7)
        return self.pool5(self.relu(self.conv5b(self.relu(self.conv5a(x)))))  # (B, 512, 1, 4, 4)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.fit(x).flatten(1)  # (B, 8192)
        x = self.dropout(self.relu(self.fc6(x)))
        x = self.dropout(self.relu(self.fc7(x)))  # (B, 4096)
        return x if pre_logits else self.fc8(x)


@register_model
def c3d(num_classes: int = 400, **kwargs) -> C3D:
    """C3D, 8 conv layers + 3 fc (about 78M parameters, most in fc6/fc7)."""
    return C3D(num_classes=num_classes, **kwargs)
