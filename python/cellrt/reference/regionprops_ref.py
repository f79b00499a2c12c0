"""Slow, obviously correct reference of regionprops (see cellrt.ops.regionprops for the spec)."""

from __future__ import annotations

import numpy as np


SHAPE_SKIMAGE = {"perimeter": "perimeter", "eccentricity": "eccentricity",
                 "major_axis_length": "axis_major_length",
                 "minor_axis_length": "axis_minor_length", "orientation": "orientation",
                 "area_convex": "area_convex", "solidity": "solidity"}


def regionprops_ref(labels, intensity=None, classes=None, shape=False) -> dict:
    """One row per positive label value, sorted; each measured over a boolean mask in float64.
    shape: the shape keys, as scikit-image's regionprops defines them (their specification)."""
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
    out = {k: np.asarray(v, dtypes[k]).reshape(shapes.get(k, (-1,))) for k, v in rows.items()}
    if shape:
        from skimage.measure import regionprops_table

        t = regionprops_table(np.asarray(labels, np.int64), properties=tuple(SHAPE_SKIMAGE.values()))
        for ours, theirs in SHAPE_SKIMAGE.items():
            out[ours] = np.asarray(t[theirs], np.int64 if ours == "area_convex" else np.float64)
    return out
