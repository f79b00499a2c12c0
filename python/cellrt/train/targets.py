"""Training targets derived from instance labels (NumPy and SciPy: testable without torch)."""

from __future__ import annotations

import numpy as np


def _run_offsets(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Along the last axis: for each pixel, 1 + the number of same-label pixels before it in its
    run (distance to the run's start edge) and likewise to the run's end edge."""
    h, w = labels.shape
    x = np.broadcast_to(np.arange(w, dtype=np.int64), (h, w))
    starts = np.ones((h, w), dtype=bool)
    starts[:, 1:] = labels[:, 1:] != labels[:, :-1]
    start_idx = np.maximum.accumulate(np.where(starts, x, 0), axis=1)
    ends = np.ones((h, w), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    end_idx = np.minimum.accumulate(np.where(ends, x, w - 1)[:, ::-1], axis=1)[:, ::-1]
    return (x - start_idx + 1), (end_idx - x + 1)


def boundary_distances(labels: np.ndarray) -> np.ndarray:
    """Distances from each instance pixel to its instance's boundary going left, right, up, down.

    A pixel on the boundary has distance 1 (the boundary lies half a pixel beyond its centre,
    rounded up, so every foreground pixel has all four distances >= 1). Background pixels get 0.
    The image border counts as a boundary. Returns float32 (4, H, W): left, right, up, down.
    """
    if labels.ndim != 2:
        raise ValueError(f"boundary_distances: labels must be 2-D, got shape {labels.shape}")
    left, right = _run_offsets(labels)
    up_t, down_t = _run_offsets(np.ascontiguousarray(labels.T))
    out = np.stack([left, right, up_t.T, down_t.T]).astype(np.float32)
    out[:, labels == 0] = 0.0
    return out


def contact_band(labels: np.ndarray, radius: int = 2) -> np.ndarray:
    """Instance pixels within `radius` pixels (chessboard) of a pixel of another instance.

    Where two nuclei touch, their boundary distances fall to 1 on both sides of one line; a
    network that smooths across it makes both halves vote for one centre and the two nuclei
    merge, the most common error of the shipped models. This band is where the distance loss
    is weighted up. Background and the image border are not contacts. Returns bool (H, W).
    """
    from scipy import ndimage

    if labels.ndim != 2:
        raise ValueError(f"contact_band: labels must be 2-D, got shape {labels.shape}")
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 1:
        raise ValueError(f"contact_band: radius must be an integer >= 1, got {radius!r}")
    lab = labels.astype(np.int64, copy=False)
    on = lab > 0
    size = 2 * int(radius) + 1
    # A larger label in the window is another instance; so is a smaller non-zero one (background
    # is lifted above every label before the minimum so that it never counts). The lift is
    # max + 1, not the dtype's maximum: scipy's minimum filter returns int64's maximum as its
    # minimum (measured), which made every pixel next to background a "contact".
    higher = ndimage.maximum_filter(lab, size=size, mode="constant", cval=0) > lab
    top = int(lab.max(initial=0)) + 1
    lifted = np.where(on, lab, top)
    lower = ndimage.minimum_filter(lifted, size=size, mode="constant", cval=top) < lab
    return on & (higher | lower)
