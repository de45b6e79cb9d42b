"""RoIAlign in plain torch (no torchvision), with torchvision's `roi_align(..., aligned=True)` semantics.

Each output bin averages `sampling_ratio` x `sampling_ratio` bilinear samples placed evenly inside
it (`sampling_ratio=0`: ceil(box size / output size) per side, per box, as torchvision does).
`aligned=True` shifts boxes by half a pixel so that a box's corner at pixel coordinate 0 lands on
the feature map's sample grid, which is why detection heads use it. Samples more than one pixel
outside the map read 0; samples in the outer half-pixel are clamped to the border, as torchvision.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def roi_align(features: Tensor, boxes: Tensor, output_size: int | tuple[int, int], spatial_scale: float = 1.0,
              sampling_ratio: int = 2, aligned: bool = True) -> Tensor:
    """features (N, C, H, W), boxes (R, 5) rows `batch_index, x1, y1, x2, y2` in input pixels
    -> (R, C, out_h, out_w). Differentiable with respect to `features`."""
    out_h, out_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    if boxes.numel() == 0:
        return features.new_zeros((0, features.shape[1], out_h, out_w))
    if sampling_ratio > 0:
        return _roi_align_grid(features, boxes, out_h, out_w, spatial_scale, sampling_ratio, sampling_ratio, aligned)
    outputs = []
    for box in boxes:  # the adaptive grid differs per box
        h, w = _box_size(box[None], spatial_scale, aligned)
        grid_h, grid_w = max(math.ceil(float(h) / out_h), 1), max(math.ceil(float(w) / out_w), 1)
        outputs.append(_roi_align_grid(features, box[None], out_h, out_w, spatial_scale, grid_h, grid_w, aligned))
    return torch.cat(outputs)


def _box_size(boxes: Tensor, scale: float, aligned: bool) -> tuple[Tensor, Tensor]:
    h = (boxes[:, 4] - boxes[:, 2]) * scale
    w = (boxes[:, 3] - boxes[:, 1]) * scale
    if not aligned:  # the legacy behaviour: boxes at least one pixel
        h, w = h.clamp(min=1.0), w.clamp(min=1.0)
    return h, w


def _sample_positions(start: Tensor, size: Tensor, bins: int, grid: int) -> Tensor:
    """(R,) box starts and sizes -> (R, bins * grid) sample coordinates, bin-major."""
    step = size / bins  # (R,)
    offsets = torch.arange(bins, dtype=start.dtype, device=start.device)[:, None] + \
        (torch.arange(grid, dtype=start.dtype, device=start.device)[None, :] + 0.5) / grid  # (bins, grid)
    return start[:, None] + step[:, None] * offsets.reshape(1, -1)


def _axis_weights(coords: Tensor, size: int) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Per coordinate: low and high indices, their weights, and whether it lies in [-1, size]."""
    inside = (coords >= -1.0) & (coords <= size)
    coords = coords.clamp(min=0.0)
    low = coords.floor().long().clamp(max=size - 1)
    at_edge = low >= size - 1
    high = torch.where(at_edge, low, low + 1)
    coords = torch.where(at_edge, low.to(coords.dtype), coords)
    frac = coords - low.to(coords.dtype)
    return low, high, 1.0 - frac, frac, inside


def _roi_align_grid(features: Tensor, boxes: Tensor, out_h: int, out_w: int, scale: float, grid_h: int,
                    grid_w: int, aligned: bool) -> Tensor:
    n, c, height, width = features.shape
    offset = 0.5 if aligned else 0.0
    h, w = _box_size(boxes, scale, aligned)
    ys = _sample_positions(boxes[:, 2] * scale - offset, h, out_h, grid_h)  # (R, Sy)
    xs = _sample_positions(boxes[:, 1] * scale - offset, w, out_w, grid_w)  # (R, Sx)
    y0, y1, wy0, wy1, in_y = _axis_weights(ys, height)
    x0, x1, wx0, wx1, in_x = _axis_weights(xs, width)
    flat = features.flatten(2)[boxes[:, 0].long()]  # (R, C, H*W)
    r, sy, sx = len(boxes), ys.shape[1], xs.shape[1]
    out = features.new_zeros((r, c, sy * sx))
    for yi, wy in ((y0, wy0), (y1, wy1)):
        for xi, wx in ((x0, wx0), (x1, wx1)):
            index = (yi[:, :, None] * width + xi[:, None, :]).reshape(r, 1, sy * sx).expand(r, c, sy * sx)
            weight = (wy[:, :, None] * wx[:, None, :]).reshape(r, 1, sy * sx).to(features.dtype)
            out = out + flat.gather(2, index) * weight
    mask = (in_y[:, :, None] & in_x[:, None, :]).reshape(r, 1, sy * sx)
    out = out * mask.to(features.dtype)  # (R, C, Sy*Sx)
    out = out.reshape(r, c, out_h, grid_h, out_w, grid_w)
    return out.mean(dim=(3, 5))  # (R, C, out_h, out_w)
