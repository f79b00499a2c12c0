"""Reference paste_masks: every roi sampled over the whole image, in float64 NumPy.

Semantics (see :func:`cellrt.ops.paste_masks` for the full statement): image pixel (py, px) is
evaluated at its centre; the mask tiles its box, so the centre sits at mask coordinates
``u = (px + 0.5 - x1) * mask_w / (x2 - x1) - 0.5`` (cell centres at integers), and its probability
is the bilinear interpolation of the zero-padded mask there. A pixel belongs to instance i when
``prob > threshold``; overlaps go to the higher float32 score, then the lower index; labels are
i + 1. Boxes with a non-finite coordinate or non-positive size, and NaN scores, paste nothing.
"""

from __future__ import annotations

import numpy as np


def _bilinear_zero_padded(mask: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample ``mask`` at (v, u) (broadcast arrays), zero outside the mask.

    Interpolated along u within each of the two rows, then along v, like the kernel: a constant
    region interpolates to exactly its value (a sum of four weight products, as grid_sample
    computes, can round 1.0 up to 1 + 2**-52).
    """
    mh, mw = mask.shape
    u0 = np.floor(u)
    v0 = np.floor(v)
    au = u - u0
    av = v - v0

    def cell(cv, cu):
        inside = (cu >= 0) & (cu < mw) & (cv >= 0) & (cv < mh)
        vals = mask[np.where(inside, cv, 0).astype(np.int64), np.where(inside, cu, 0).astype(np.int64)]
        return np.where(inside, vals, 0.0)

    top = (1.0 - au) * cell(v0, u0) + au * cell(v0, u0 + 1)
    bottom = (1.0 - au) * cell(v0 + 1, u0) + au * cell(v0 + 1, u0 + 1)
    return (1.0 - av) * top + av * bottom


def paste_masks_ref(masks, boxes, scores, image_shape, threshold: float = 0.5) -> np.ndarray:
    """int32 label image ``(H, W)`` from masks ``(R, mh, mw)``, boxes ``(R, 4)``, scores ``(R,)``."""
    masks = np.asarray(masks, np.float64)
    if masks.ndim == 4:
        masks = masks[:, 0]
    boxes = np.asarray(boxes, np.float64)
    scores = np.asarray(scores, np.float32)  # priorities compare as float32
    h, w = (int(s) for s in image_shape)
    labels = np.zeros((h, w), np.int32)
    best = np.full((h, w), -np.inf, np.float64)  # score of the current owner
    py = np.arange(h, dtype=np.float64)[:, None] + 0.5
    px = np.arange(w, dtype=np.float64)[None, :] + 0.5
    mh, mw = masks.shape[1:]
    for i in range(masks.shape[0]):
        x1, y1, x2, y2 = boxes[i]
        if not (np.all(np.isfinite(boxes[i])) and x2 > x1 and y2 > y1) or np.isnan(scores[i]):
            continue
        u = (px - x1) * (mw / (x2 - x1)) - 0.5
        v = (py - y1) * (mh / (y2 - y1)) - 0.5
        prob = _bilinear_zero_padded(masks[i], u, v)
        with np.errstate(invalid="ignore"):  # NaN probabilities are simply not pasted
            hit = prob > threshold
        # Strictly higher score takes over: on equal scores the earlier (lower) index stays.
        take = hit & ((labels == 0) | (float(scores[i]) > best))
        labels[take] = i + 1
        best[take] = float(scores[i])
    return labels
