"""Intensity normalisation from whole-image statistics (never per tile: per-tile statistics make
the same nucleus look different in two tiles and create seams)."""

from __future__ import annotations

import numpy as np

# Percentile normalisation as StarDist/CSBDeep do it: robust to a few hot pixels.
DEFAULT_PERCENTILES = (1.0, 99.8)
# Statistics from at most this many pixels (a strided subsample): percentiles of a 100k x 100k
# mosaic need not read every pixel twice.
_MAX_STAT_PIXELS = 4_000_000


def to_channels(img: np.ndarray, channels: int) -> np.ndarray:
    """(H, W) or (H, W, 3) -> (H, W, channels). Colour to gray is the channel mean; gray to colour
    repeats the plane."""
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] == channels:
        return img
    if channels == 1:
        return img.mean(axis=2, keepdims=True, dtype=np.float32)
    if img.shape[2] == 1:
        return np.repeat(img, channels, axis=2)
    raise ValueError(f"to_channels: cannot map {img.shape[2]} channels to {channels}")


def percentile_stats(img: np.ndarray, percentiles=DEFAULT_PERCENTILES) -> np.ndarray:
    """Per-channel (low, high) percentiles of an (H, W, C) image, shape (C, 2)."""
    h, w = img.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / _MAX_STAT_PIXELS))))
    sample = img[::step, ::step].reshape(-1, img.shape[2]).astype(np.float32)
    return np.percentile(sample, percentiles, axis=0).T.astype(np.float32)


def normalize(img: np.ndarray, channels: int, percentiles=DEFAULT_PERCENTILES) -> np.ndarray:
    """Whole-image percentile normalisation to float32 (H, W, channels): low -> 0, high -> 1."""
    x = to_channels(img, channels)
    stats = percentile_stats(x, percentiles)
    lo, hi = stats[:, 0], stats[:, 1]
    scale = 1.0 / np.maximum(hi - lo, 1e-6)
    return ((x.astype(np.float32) - lo) * scale).astype(np.float32)
