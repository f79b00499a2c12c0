"""Slow, obviously correct references of the label family (see cellrt.ops.label for the spec).

Plain Python breadth-first floods over pixels; meant for small test images only.
"""

from __future__ import annotations

from collections import deque

import numpy as np

_N4 = ((-1, 0), (0, -1), (0, 1), (1, 0))
_N8 = _N4 + ((-1, -1), (-1, 1), (1, -1), (1, 1))


def _flood(mask: np.ndarray, y0: int, x0: int, offsets, comp: np.ndarray, value: int) -> list:
    """Marks the component of mask containing (y0, x0) in comp with value; returns its pixels."""
    h, w = mask.shape
    comp[y0, x0] = value
    queue, pixels = deque([(y0, x0)]), [(y0, x0)]
    while queue:
        y, x = queue.popleft()
        for dy, dx in offsets:
            v, u = y + dy, x + dx
            if 0 <= v < h and 0 <= u < w and mask[v, u] and comp[v, u] == 0:
                comp[v, u] = value
                queue.append((v, u))
                pixels.append((v, u))
    return pixels


def label_ref(binary, connectivity: int = 1) -> np.ndarray:
    """Components of the nonzero pixels, numbered 1..N in raster order of their first pixel."""
    mask = np.asarray(binary) != 0
    if mask.ndim != 2 or connectivity not in (1, 2):
        raise ValueError("label_ref: needs a 2-D mask and connectivity 1 or 2")
    offsets = _N4 if connectivity == 1 else _N8
    out = np.zeros(mask.shape, np.int32)
    n = 0
    for y in range(mask.shape[0]):
        for x in range(mask.shape[1]):
            if mask[y, x] and out[y, x] == 0:
                n += 1
                _flood(mask, y, x, offsets, out, n)
    return out


def relabel_sequential_ref(labels) -> np.ndarray:
    """Positive values -> 1..N in increasing order of value; 0 stays 0."""
    labels = np.asarray(labels)
    out = np.zeros_like(labels)
    for new, old in enumerate(v for v in np.unique(labels) if v > 0):
        out[labels == old] = new + 1
    return out


def remove_small_objects_ref(labels, min_size: int) -> np.ndarray:
    """Zero every positive value that occurs in fewer than min_size pixels."""
    labels = np.asarray(labels)
    out = labels.copy()
    for v in np.unique(labels):
        if v > 0 and np.count_nonzero(labels == v) < min_size:
            out[labels == v] = 0
    return out


def fill_holes_ref(labels) -> np.ndarray:
    """Fill each 4-connected background component that avoids the border and whose 4-neighbours
    outside it all carry one label, with that label."""
    labels = np.asarray(labels)
    h, w = labels.shape
    out = labels.copy()
    seen = np.zeros((h, w), np.int32)
    n = 0
    for y in range(h):
        for x in range(w):
            if labels[y, x] != 0 or seen[y, x]:
                continue
            n += 1
            pixels = _flood(labels == 0, y, x, _N4, seen, n)
            touches_border = any(v in (0, h - 1) or u in (0, w - 1) for v, u in pixels)
            around = {
                int(labels[v + dy, u + dx])
                for v, u in pixels
                for dy, dx in _N4
                if 0 <= v + dy < h and 0 <= u + dx < w and labels[v + dy, u + dx] != 0
            }
            if not touches_border and len(around) == 1:
                fill = around.pop()
                for v, u in pixels:
                    out[v, u] = fill
    return out
