"""The motionlens model zoo: ``create_model(name, num_classes=..., pretrained=...)`` and friends.

Every model takes float clips ``(B, C, T, H, W)`` and returns logits ``(B, num_classes)``, and has
``forward_features``, ``forward_head(x, pre_logits=False)``, ``reset_classifier(n)``, ``cfg`` and
``stage_names``.
"""

from .cfg import FLOW_MEAN, FLOW_STD, ModelCfg
from .factory import create_model
from .finetune import freeze, param_groups, set_bn_eval
from .inference import optimize_for_inference
from .registry import get_model_cfg, get_weights, list_models, register_model
from .weights import LoadResult, load_state_dict_file, load_weights

# Importing the families registers their builders.
from . import c3d, cnn3d_small, crnn, hara_resnet, video_resnet, x3d  # noqa: E402,F401  isort: skip
from .hara_resnet import HARA_ACTIVITYNET_MEAN, HARA_KINETICS_MEAN, load_hara_checkpoint  # noqa: E402
from .resnet2d import ResNet2d, resnet2d_18, resnet2d_50, resnet2d_152  # noqa: E402

__all__ = [
    "ModelCfg",
    "FLOW_MEAN",
    "FLOW_STD",
    "LoadResult",
    "create_model",
    "list_models",
    "register_model",
    "get_model_cfg",
    "get_weights",
    "load_weights",
    "load_state_dict_file",
    "load_hara_checkpoint",
    "freeze",
    "param_groups",
    "set_bn_eval",
    "optimize_for_inference",
    "ResNet2d",
    "resnet2d_18",
    "resnet2d_50",
    "resnet2d_152",
    "HARA_KINETICS_MEAN",
    "HARA_ACTIVITYNET_MEAN",
]
from . import twostream  # noqa: F401
