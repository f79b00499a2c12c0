"""What the boundary-regression network's distance maps mean, as functions used by decoding."""

from __future__ import annotations

import numpy as np


def centerness(dist: np.ndarray) -> np.ndarray:
    """FCOS-style centerness from (4, H, W) distances: sqrt(min(l,r)/max(l,r) * min(u,d)/max(u,d)).
    1 at an object's centre, falling towards its boundary; 0 where distances are 0."""
    dist = np.asarray(dist, dtype=np.float32)
    if dist.size and dist.min() < 0:  # network outputs are already >= 0: skip the copy there
        dist = np.maximum(dist, 0.0)
    l, r, u, d = dist
    eps = np.float32(1e-6)
    # In place on two buffers: this runs on every tile, and temporaries cost more than the math.
    h = np.minimum(l, r)
    big = np.maximum(l, r)
    big += eps
    h /= big
    v = np.minimum(u, d)
    np.maximum(u, d, out=big)
    big += eps
    v /= big
    h *= v
    return np.sqrt(h, out=h)
