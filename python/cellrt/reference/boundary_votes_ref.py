"""Slow, obviously correct reference of boundary_votes (see cellrt.ops.boundary_votes for the
spec): one Python loop over pixels, positions in float64."""

from __future__ import annotations

import math

import numpy as np


def _nearest_clamped(v: float, extent: int) -> int | None:
    """Nearest pixel (halves up) of coordinate v, clamped to 0..extent-1; None for NaN."""
    if math.isnan(v):
        return None
    if v == math.inf:
        return extent - 1
    if v == -math.inf:
        return 0
    return min(max(math.floor(v + 0.5), 0), extent - 1)


def boundary_votes_ref(dist: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """int32 (H, W) vote counts from (4, H, W) left/right/up/down boundary distances."""
    dist = np.asarray(dist, dtype=np.float32).astype(np.float64)
    _, h, w = dist.shape
    votes = np.zeros((h, w), dtype=np.int32)
    for y in range(h):
        for x in range(w):
            if mask is not None and not mask[y, x]:
                continue
            left, right, up, down = dist[:, y, x]
            with np.errstate(invalid="ignore"):  # inf - inf is NaN: that pixel casts no vote
                cx = _nearest_clamped(x + 0.5 * (right - left), w)
                cy = _nearest_clamped(y + 0.5 * (down - up), h)
            if cx is not None and cy is not None:
                votes[cy, cx] += 1
    return votes
