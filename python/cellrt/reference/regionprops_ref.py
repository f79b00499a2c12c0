"""Slow, obviously correct reference of regionprops (see cellrt.ops.regionprops for the spec)."""

from __future__ import annotations

import numpy as np


def regionprops_ref(labels, intensity=None, classes=None) -> dict:
    """One row per positive label value, sorted; each measured over a boolean mask in float64."""
    labels = np.asarray(labels)
    rows = {"label": [], "area": [], "bbox": [], "centroid": []}
    if intensity is not None:
        intensity = np.asarray(intensity, np.float64)
        if intensity.ndim == 2:
            intensity = intensity[:, :, None]
        rows["mean_intensity"] = []
    if classes is not None:
        classes = np.asarray(classes)
        rows["class"] = []
    for v in np.unique(labels):
        if v <= 0:
            continue
        mask = labels == v
        ys, xs = np.nonzero(mask)
        rows["label"].append(v)
        rows["area"].append(len(ys))
        rows["bbox"].append([ys.min(), xs.min(), ys.max() + 1, xs.max() + 1])
        rows["centroid"].append([ys.mean(), xs.mean()])
        if intensity is not None:
            rows["mean_intensity"].append(intensity[mask].mean(axis=0))
        if classes is not None:
            rows["class"].append(np.bincount(classes[mask]).argmax())  # first maximum: smallest id
    channels = 0 if intensity is None else intensity.shape[2]
    shapes = {"bbox": (-1, 4), "centroid": (-1, 2), "mean_intensity": (-1, channels)}
    dtypes = {"label": labels.dtype, "area": np.int64, "bbox": np.int64, "class": np.int64,
              "centroid": np.float64, "mean_intensity": np.float64}
    return {k: np.asarray(v, dtypes[k]).reshape(shapes.get(k, (-1,))) for k, v in rows.items()}
