"""Which tile keeps an instance: each instance belongs to a unit (a connected component of the
family's `support` mask, cellrt.families.base.Decoded), and a unit is kept by the one tile whose
core holds the top-left corner of its bounding box, provided it does not touch the tile region's
edge inside the image (so the tile saw it whole). Cores partition the image, so every instance is
kept exactly once (cellrt.engine.tiling)."""

from __future__ import annotations

import numpy as np

from cellrt import ops
from cellrt.engine.tiling import Tile


def first_pixels(labels: np.ndarray, ids: np.ndarray, bbox: np.ndarray) -> np.ndarray:
    """Raster index of each instance's first pixel: in its bounding box's top row, the leftmost
    pixel that is its own (a few microseconds per instance, no sort of the whole image)."""
    w = labels.shape[1]
    out = np.empty(len(ids), dtype=np.int64)
    for k, (i, (r, c0, _, c1)) in enumerate(zip(ids.tolist(), bbox.tolist())):
        out[k] = r * w + c0 + int(np.argmax(labels[r, c0:c1] == i))
    return out


def owned_instances(first: np.ndarray, support: np.ndarray, connectivity: int, tile: Tile,
                    shape: tuple[int, int]) -> tuple[np.ndarray, int]:
    """Which of the region's instances (given by their first-pixel indices in the region) this
    tile keeps (a boolean row mask), and how many kept ones are cut by the region's edge."""
    h, w = shape
    ry0, rx0, ry1, rx1 = tile.region
    comps = ops.label(support, connectivity=connectivity)
    cp = ops.regionprops(comps)
    bb = np.asarray(cp["bbox"]).reshape(-1, 4)
    cy0, cx0, cy1, cx1 = tile.core
    gy, gx = bb[:, 0] + ry0, bb[:, 1] + rx0
    anchored = (gy >= cy0) & (gy < cy1) & (gx >= cx0) & (gx < cx1)
    touches = (((bb[:, 0] == 0) & (ry0 > 0)) | ((bb[:, 1] == 0) & (rx0 > 0))
               | ((bb[:, 2] == ry1 - ry0) & (ry1 < h)) | ((bb[:, 3] == rx1 - rx0) & (rx1 < w)))
    comp_ids = np.asarray(cp["label"])
    keep_comp = np.zeros(int(comps.max()) + 1, dtype=bool)
    keep_comp[comp_ids[anchored]] = True
    cut_comp = np.zeros_like(keep_comp)
    cut_comp[comp_ids[anchored & touches]] = True
    # Each instance lies in one unit, and its first pixel is in the support mask.
    owner_comp = comps.ravel()[first]
    keep = keep_comp[owner_comp]
    return keep, int(np.count_nonzero(cut_comp[owner_comp[keep]]))
