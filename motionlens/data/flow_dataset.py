"""Flow clips from the same index as RGB clips: a decoder that reads extracted flow instead of frames.

RGB and flow are paired per video by path: the flow of `<data root>/<class>/<video>.avi` lives in
`<flow root>/<class>/<video>/` (see `motionlens.data.flow_storage`). Frame numbers are those of the
video: flow frame k is the motion from frame k to frame k + 1, so a clip asking for frames
k..k+L-1 gets the motion that starts at each of them. A video of N frames has N - 1 flow frames;
a request for frame N - 1 (the last) gets flow frame N - 2.

Modalities read from extracted flow (channels of the decoded `(T, H, W, C)` uint8 frames):
  flow       2   x, y flow, quantised (127.5 = no motion)
  rgb+flow   5   RGB frames and their flow, aligned in time, for the fused `twostream` model
Other modalities (rgb, diff, rgb_diff) decode the video's frames and are left alone here.

Flow is normalised with FLOW_MEAN = (0.5, 0.5), FLOW_STD = (0.226, 0.226) on [0, 1] values (the
temporal models' ModelCfg carries them), and a horizontal flip negates flow-x (stored as 1 - x).
A 3D CNN takes the clip as `(2, T, H, W)`; a 2D temporal stream stacks it to `(2T, H, W)` itself.
"""

from __future__ import annotations

import dataclasses
import os

import cv2
import numpy as np

from ..core.errors import MotionlensError
from ..models.cfg import FLOW_MEAN, FLOW_STD
from ..video import read_frames
from ..video import Size
from .dataset import Decoder, VideoClipDataset
from .flow_storage import flow_dir_for, flow_info, read_flow
from .index import VideoRecord

FLOW_MODALITIES = {"flow": 0, "rgb+flow": 3}  # modality -> the channel holding flow-x (a flip negates it)

__all__ = ["FLOW_MEAN", "FLOW_MODALITIES", "FLOW_STD", "apply_modality", "flow_decoder", "modality_decoder", "rgb_flow_decoder"]


def flow_decoder(flow_root: str | os.PathLike, data_root: str | os.PathLike, size: Size = None) -> Decoder:
    """Decoder of a record's flow: `(record, frame indices) -> uint8 (T, H, W, 2)`.

    `data_root` is the root the index was built from (`index.root`); `size` is a short side or
    (H, W), as for `rgb_decoder`. A video without finished flow raises VideoError, which the
    dataset logs and counts like an undecodable video."""

    def decode(record: VideoRecord, indices: list[int]) -> np.ndarray:
        flow_dir = flow_dir_for(record.path, data_root, flow_root)
        last = int(flow_info(flow_dir)["num_flow_frames"]) - 1
        return read_flow(flow_dir, [min(int(i), last) for i in indices], size=size)

    return decode


def rgb_flow_decoder(flow_root: str | os.PathLike, data_root: str | os.PathLike, size: Size = None) -> Decoder:
    """Decoder of RGB frames and their flow side by side: uint8 `(T, H, W, 5)` (r, g, b, flow x, flow y).

    Flow is resized to the frames' size when the two were stored at different sizes."""
    flow = flow_decoder(flow_root, data_root, size)

    def decode(record: VideoRecord, indices: list[int]) -> np.ndarray:
        rgb = read_frames(record.path, indices, size=size)  # (T, H, W, 3)
        xy = flow(record, indices)  # (T, h, w, 2)
        if xy.shape[1:3] != rgb.shape[1:3]:
            xy = np.stack([cv2.resize(f, (rgb.shape[2], rgb.shape[1]), interpolation=cv2.INTER_LINEAR) for f in xy])
        return np.concatenate([rgb, xy], axis=-1)

    return decode


def modality_decoder(modality: str, flow_root: str | os.PathLike | None, data_root: str,
                     size: Size = None) -> Decoder | None:
    """The decoder for a modality that reads flow ("flow", "rgb+flow"), or None for one that does
    not (rgb, diff, rgb_diff). One-line errors when the flow is missing."""
    if modality not in FLOW_MODALITIES:
        return None
    if not flow_root:
        raise MotionlensError(f"modality '{modality}' needs the extracted flow: set data.flow_root "
                              "(--set data.flow_root=DIR) to the --out folder of `motionlens flow`")
    if not os.path.isdir(flow_root):
        raise MotionlensError(f"flow root not found: {flow_root} (extract it with `motionlens flow`)")
    if not data_root:
        raise MotionlensError("the index has no root folder, so videos cannot be paired with their flow; "
                              "build it with data.index.build_index")
    make = flow_decoder if modality == "flow" else rgb_flow_decoder
    return make(flow_root, data_root, size)


def apply_modality(dataset: VideoClipDataset, modality: str, flow_root: str | os.PathLike | None,
                   size: Size = None) -> VideoClipDataset:
    """Make an RGB dataset read `modality` instead: swaps the decoder and makes a flip negate
    flow-x. Idempotent; modalities that read no flow leave the dataset as it is. Returns it."""
    decoder = modality_decoder(modality, flow_root, dataset.index.root, size)
    if decoder is None:
        return dataset
    dataset.decoder = decoder
    if dataclasses.is_dataclass(dataset.transform) and hasattr(dataset.transform, "flip_negates_channel"):
        dataset.transform = dataclasses.replace(dataset.transform, flip_negates_channel=FLOW_MODALITIES[modality])
    return dataset
