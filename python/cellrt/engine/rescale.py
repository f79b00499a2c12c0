"""A second pass at another scale: the image enlarged by an integer factor, its labels sampled
back. An integer factor makes the way back exact: every original pixel takes the label of one of
its factor x factor sub-pixels. Which images get a second pass is the family's rule
(Family.second_pass)."""

from __future__ import annotations

import numpy as np

from cellrt import ops
from cellrt.engine.result import SegmentResult
from cellrt.io.table import ObjectTable


def enlarge(raw: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) intensities -> (factor*H, factor*W[, C]) float32, bilinear."""
    import cv2

    h, w, c = raw.shape
    big = cv2.resize(raw.astype(np.float32), (w * factor, h * factor),
                     interpolation=cv2.INTER_LINEAR)
    return big if c > 1 else big.reshape(h * factor, w * factor)


def shrink_labels(big_labels: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Enlarged labels -> (labels at 1x numbered 1..N in raster order of first pixel, the
    enlarged id of each new id 1..N). Each pixel takes its sub-pixel nearest the centre."""
    off = factor // 2
    lab = big_labels[off::factor, off::factor]
    ids, first = np.unique(lab.ravel(), return_index=True)
    ids, first = ids[ids > 0], first[ids > 0]
    old = ids[np.argsort(first, kind="stable")]
    lut = np.zeros(int(big_labels.max(initial=0)) + 1, dtype=np.int32)
    lut[old] = np.arange(1, len(old) + 1, dtype=np.int32)
    return lut[lab], old


def shrink(big: SegmentResult, raw: np.ndarray, factor: int) -> SegmentResult:
    """The enlarged image's result at the original size: each pixel takes the label of the
    sub-pixel nearest its centre, instances are renumbered 1..N in raster order of their first
    pixel (as stitch numbers them) and measured again on the original intensities; score and
    class are the enlarged instance's."""
    labels, old = shrink_labels(big.labels, factor)
    props = ops.regionprops(labels, intensity=raw.astype(np.float32))
    # Rows of the big table in the new id order (its rows are sorted by id).
    rows = np.searchsorted(big.table["id"], old)
    table = ObjectTable.from_columns(
        {"id": props["label"], "area": props["area"], "bbox": props["bbox"],
         "centroid": props["centroid"], "mean_intensity": props["mean_intensity"],
         "score": big.table["score"][rows], "class": big.table["class"][rows]},
        big.table.class_names)
    return SegmentResult(labels, table, big.cut_objects, big.timings, scale=factor)
