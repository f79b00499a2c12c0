"""Argument checks shared by every metric: label images, label pairs, IoU thresholds and the
area share that counts as covering an object (cellrt.metrics.errors).

Messages name the public function, the argument, what was expected and what came, so a caller
deep inside an evaluation loop can tell which of its arrays is wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Thresholds are snapped to this many decimals. np.arange(0.5, 1.0, 0.05) yields
# 0.7000000000000001, which would reject a pair whose IoU is exactly 7/10; pixel-count fractions
# inter/union with union < 1e11 px differ from any 2-decimal threshold by more than 1e-12, so
# snapping cannot accept a pair that is really below the threshold.
_THRESHOLD_DECIMALS = 12


def label_image(x: Any, func: str, arg: str) -> np.ndarray:
    """Return ``x`` as a 2-D integer ndarray with labels >= 0 (0 = background)."""
    arr = np.asarray(x)
    # bool is not an integer dtype for NumPy; a boolean mask has no instance ids, so it is refused
    # rather than silently read as "one object".
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{func}: {arg} must be an integer label image (0 = background, instance ids > 0), "
            f"got dtype {arr.dtype}"
        )
    if arr.ndim != 2:
        raise ValueError(f"{func}: {arg} must be a 2-D label image, got shape {tuple(arr.shape)}")
    if np.issubdtype(arr.dtype, np.signedinteger) and arr.size and arr.min() < 0:
        raise ValueError(
            f"{func}: {arg} has negative labels (min {int(arr.min())}); labels must be >= 0 "
            "with 0 = background"
        )
    return arr


def label_pair(true: Any, pred: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ground-truth / prediction pair of label images of one image."""
    t = label_image(true, func, "true")
    p = label_image(pred, func, "pred")
    if t.shape != p.shape:
        raise ValueError(
            f"{func}: pred must have the same shape as true {tuple(t.shape)}, "
            f"got {tuple(p.shape)}"
        )
    return t, p


def thresholds(x: Any, func: str, arg: str = "thresholds") -> np.ndarray:
    """Return IoU thresholds as a 1-D float64 array, each in (0, 1]."""
    try:
        arr = np.atleast_1d(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(
            f"{func}: {arg} must be a number or a 1-D sequence of numbers, got {x!r}"
        ) from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{func}: {arg} must be a non-empty 1-D sequence, got shape {tuple(arr.shape)}"
        )
    # A threshold of 0 would let every pair "match", including disjoint ones.
    if not np.all((arr > 0) & (arr <= 1)):
        raise ValueError(f"{func}: {arg} must lie in (0, 1], got {arr.tolist()}")
    return np.round(arr, _THRESHOLD_DECIMALS)


def cover(x: Any, func: str) -> float:
    """Return the share of an object's area that counts as holding it, in (0, 0.5] (above 0.5
    no object could hold that share of two others)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{func}: cover must be a number in (0, 0.5], got {type(x).__name__}")
    if not 0 < float(x) <= 0.5:
        raise ValueError(f"{func}: cover must be in (0, 0.5], got {x}")
    return float(x)
