"""Slow, readable float64 RoIAlign: the documented semantics and the test oracle.

Mirrors :mod:`cellrt.ops.roi_align` (see its docstring for the spec and the coordinate
convention) with plain loops over RoIs, bins and samples; only the channel axis is vectorised.
Never used as a production fallback.
"""

from __future__ import annotations

import math

import numpy as np

MAX_ADAPTIVE_GRID = 1024  # samples per bin side, as kRoiAlignMaxAdaptiveGrid in the kernels


def _pair(output_size) -> tuple[int, int]:
    if isinstance(output_size, int):
        return output_size, output_size
    return int(output_size[0]), int(output_size[1])


def _adaptive_grid(bin_size: float) -> int:
    """ceil(bin size) samples; none for NaN, non-positive or infinite sizes; capped."""
    if not bin_size > 0 or math.isinf(bin_size):
        return 0
    return min(math.ceil(bin_size), MAX_ADAPTIVE_GRID)


def _roi_geometry(roi, spatial_scale, oh, ow, sampling_ratio, aligned):
    """(batch, start_y, start_x, bin_h, bin_w, grid_h, grid_w, count) in feature-map pixels."""
    batch, x1, y1, x2, y2 = (float(v) for v in roi)
    offset = 0.5 if aligned else 0.0
    start_x = x1 * spatial_scale - offset
    start_y = y1 * spatial_scale - offset
    roi_w = x2 * spatial_scale - offset - start_x
    roi_h = y2 * spatial_scale - offset - start_y
    if not aligned:  # legacy model: RoIs smaller than one pixel grow to one (NaN stays NaN)
        roi_w = 1.0 if roi_w < 1 else roi_w
        roi_h = 1.0 if roi_h < 1 else roi_h
    bin_h, bin_w = roi_h / oh, roi_w / ow
    grid_h = sampling_ratio if sampling_ratio > 0 else _adaptive_grid(bin_h)
    grid_w = sampling_ratio if sampling_ratio > 0 else _adaptive_grid(bin_w)
    count = max(grid_h * grid_w, 1)
    return int(batch), start_y, start_x, bin_h, bin_w, grid_h, grid_w, count


def _samples(start, bin_size, index, grid):
    """Sample coordinates of bin `index` along one axis: centres of `grid` equal sub-intervals."""
    return [start + index * bin_size + (i + 0.5) * bin_size / grid for i in range(grid)]


def _axis(size: int, v: float) -> tuple[int, int, float]:
    """(low, high, weight of high) of coordinate v in [-1, size] along an axis of `size` pixels."""
    v = max(v, 0.0)
    low = int(v)
    if low >= size - 1:
        return size - 1, size - 1, 0.0
    return low, low + 1, v - low


def _taps(height: int, width: int, y: float, x: float):
    """Four (weight, row, col) bilinear taps, or None when the sample contributes 0.

    Outside [-1, H] x [-1, W] contributes 0; the chained comparison is False for NaN too.
    """
    if not (-1.0 <= y <= height and -1.0 <= x <= width):
        return None
    y0, y1, ly = _axis(height, y)
    x0, x1, lx = _axis(width, x)
    hy, hx = 1.0 - ly, 1.0 - lx
    return [(hy * hx, y0, x0), (hy * lx, y0, x1), (ly * hx, y1, x0), (ly * lx, y1, x1)]


def roi_align_ref(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """RoIAlign forward. input (N, C, H, W), boxes (K, 5) -> (K, C, oh, ow) float64."""
    x = np.asarray(input, dtype=np.float64)
    rois = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    oh, ow = _pair(output_size)
    _, channels, height, width = x.shape
    out = np.zeros((len(rois), channels, oh, ow))
    for k, roi in enumerate(rois):
        n, start_y, start_x, bin_h, bin_w, grid_h, grid_w, count = _roi_geometry(
            roi, spatial_scale, oh, ow, sampling_ratio, aligned
        )
        for ph in range(oh):
            for pw in range(ow):
                total = np.zeros(channels)
                for y in _samples(start_y, bin_h, ph, grid_h):
                    for xs in _samples(start_x, bin_w, pw, grid_w):
                        taps = _taps(height, width, y, xs)
                        if taps is None:
                            continue
                        (w1, r1, c1), (w2, r2, c2), (w3, r3, c3), (w4, r4, c4) = taps
                        total += (
                            w1 * x[n, :, r1, c1] + w2 * x[n, :, r2, c2]
                            + w3 * x[n, :, r3, c3] + w4 * x[n, :, r4, c4]
                        )
                out[k, :, ph, pw] = total / count
    return out


def roi_align_backward_ref(grad_output, boxes, input_shape, spatial_scale=1.0, sampling_ratio=-1,
                           aligned=False):
    """Gradient of roi_align_ref w.r.t. input: each bin's gradient / count, times each tap weight."""
    g = np.asarray(grad_output, dtype=np.float64)
    rois = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    _, _, oh, ow = g.shape
    _, _, height, width = input_shape
    grad = np.zeros(input_shape)
    for k, roi in enumerate(rois):
        n, start_y, start_x, bin_h, bin_w, grid_h, grid_w, count = _roi_geometry(
            roi, spatial_scale, oh, ow, sampling_ratio, aligned
        )
        for ph in range(oh):
            for pw in range(ow):
                share = g[k, :, ph, pw] / count
                for y in _samples(start_y, bin_h, ph, grid_h):
                    for xs in _samples(start_x, bin_w, pw, grid_w):
                        for w, r, c in _taps(height, width, y, xs) or ():
                            grad[n, :, r, c] += share * w
    return grad


def fpn_level_ref(box, scales, canonical_size=224, canonical_level=4) -> int:
    """FPN level index of one (batch, x1, y1, x2, y2) box; -1 for a negative or NaN area."""
    if len(scales) == 1:
        return 0
    k_min = round(-math.log2(scales[0]))
    k_max = k_min + len(scales) - 1
    _, x1, y1, x2, y2 = (float(v) for v in box)
    area = (x2 - x1) * (y2 - y1)
    if not area >= 0:
        return -1
    if area == 0:
        return 0  # log2(0) = -inf: the finest level
    if math.isinf(area):
        return len(scales) - 1
    level = math.floor(canonical_level + math.log2(math.sqrt(area) / canonical_size) + 1e-6)
    return min(max(level, k_min), k_max) - k_min


def multilevel_roi_align_ref(features, boxes, output_size, scales, sampling_ratio,
                             canonical_size=224, canonical_level=4, aligned=False):
    """Each box pooled by roi_align_ref from the level fpn_level_ref picks; zeros for none."""
    rois = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
    oh, ow = _pair(output_size)
    channels = np.asarray(features[0]).shape[1]
    out = np.zeros((len(rois), channels, oh, ow))
    for k, roi in enumerate(rois):
        level = fpn_level_ref(roi, scales, canonical_size, canonical_level)
        if level >= 0:
            out[k] = roi_align_ref(features[level], roi[None], (oh, ow), scales[level],
                                   sampling_ratio, aligned)[0]
    return out
