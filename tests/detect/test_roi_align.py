"""RoIAlign against a direct NumPy transcription of torchvision's CPU kernel (bilinear sampling per
point), for aligned and legacy boxes, fixed and adaptive sampling; gradients reach the features."""

import math

import numpy as np
import pytest
import torch

from motionlens.detect.roi_align import roi_align


def bilinear(fmap, y, x):
    """torchvision's bilinear_interpolate on one (H, W) map."""
    height, width = fmap.shape
    if y < -1.0 or y > height or x < -1.0 or x > width:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fmap[y_low, x_low] + hy * lx * fmap[y_low, x_high] + ly * hx * fmap[y_high, x_low]
            + ly * lx * fmap[y_high, x_high])


def reference(features, boxes, out_size, scale, sampling_ratio, aligned):
    r_out = np.zeros((len(boxes), features.shape[1], out_size, out_size))
    offset = 0.5 if aligned else 0.0
    for r, (b, x1, y1, x2, y2) in enumerate(boxes):
        sx, sy = x1 * scale - offset, y1 * scale - offset
        rw, rh = x2 * scale - offset - sx, y2 * scale - offset - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / out_size, rw / out_size
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / out_size)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / out_size)
        count = max(gh * gw, 1)
        for c in range(features.shape[1]):
            for ph in range(out_size):
                for pw in range(out_size):
                    total = 0.0
                    for iy in range(gh):
                        y = sy + ph * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            x = sx + pw * bw + (ix + 0.5) * bw / gw
                            total += bilinear(features[int(b), c], y, x)
                    r_out[r, c, ph, pw] = total / count
    return r_out


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("sampling_ratio", [0, 1, 2, 3])
def test_matches_direct_bilinear_sampling(aligned, sampling_ratio):
    rng = np.random.default_rng(sampling_ratio)
    features = rng.standard_normal((2, 3, 9, 11))
    boxes = np.array([[0, 0.0, 0.0, 44.0, 36.0],  # the whole map at scale 1/4
                      [1, 5.3, 7.1, 21.9, 30.2],
                      [0, -6.0, 30.0, 10.0, 40.0],  # partly outside
                      [1, 12.0, 12.0, 12.5, 12.2],  # smaller than a cell
                      [1, 39.0, 30.0, 60.0, 60.0]])  # runs off the far edge
    got = roi_align(torch.from_numpy(features), torch.from_numpy(boxes), 3, 0.25, sampling_ratio, aligned)
    expected = reference(features, boxes, 3, 0.25, sampling_ratio, aligned)
    assert got.shape == (5, 3, 3, 3)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-10)


def test_constant_map_and_gradients():
    features = torch.full((1, 2, 8, 8), 3.0, requires_grad=True)
    boxes = torch.tensor([[0, 1.0, 1.0, 6.0, 5.0]])
    out = roi_align(features, boxes, 2, 1.0, 2)
    assert torch.allclose(out, torch.full((1, 2, 2, 2), 3.0))
    out.sum().backward()
    assert features.grad.sum().item() == pytest.approx(2 * 4)  # each bin's weights sum to one
    assert features.grad[0, 0, 0, 7] == 0  # outside the box: no gradient
    assert roi_align(features, torch.zeros((0, 5)), 2).shape == (0, 2, 2, 2)
