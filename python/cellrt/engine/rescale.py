"""An image segmented at another scale: resized, segmented, its labels sampled back.

Each original pixel takes the label of the resized pixel nearest its centre, so an integer
enlargement comes back exactly (every original pixel takes one of its factor x factor
sub-pixels) and a shrunk image's labels are blown up without shifting them. Which scale an image
gets is the model family's scale rule (cellrt.families.scale) and second-pass rule
(Family.second_pass), applied by cellrt.engine.engine.
"""

from __future__ import annotations

import numpy as np

from cellrt import ops
from cellrt.engine.result import SegmentResult
from cellrt.io.table import ObjectTable


def scaled_shape(shape: tuple[int, int], scale: float) -> tuple[int, int]:
    """(H, W) of an image of `shape` resized by `scale` (at least 1 x 1)."""
    return tuple(max(1, int(round(n * scale))) for n in shape[:2])


def resize(raw: np.ndarray, scale: float) -> np.ndarray:
    """(H, W, C) intensities -> the image resized by `scale`, float32, (h, w) or (h, w, C):
    bilinear to enlarge, pixel-area averaging to shrink (no aliasing)."""
    import cv2

    h, w, c = raw.shape
    nh, nw = scaled_shape((h, w), scale)
    interp = cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA
    out = cv2.resize(raw.astype(np.float32), (nw, nh), interpolation=interp)
    return out if c > 1 else out.reshape(nh, nw)


def sample_labels(labels: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Labels of a resized image -> (labels of `shape`, numbered 1..N in raster order of first
    pixel, and the resized image's id of each new id 1..N). Each output pixel takes the input
    pixel nearest its centre."""
    rows = _nearest(shape[0], labels.shape[0])
    cols = _nearest(shape[1], labels.shape[1])
    lab = labels[np.ix_(rows, cols)]
    ids, first = np.unique(lab.ravel(), return_index=True)
    ids, first = ids[ids > 0], first[ids > 0]
    old = ids[np.argsort(first, kind="stable")]
    lut = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.int32)
    lut[old] = np.arange(1, len(old) + 1, dtype=np.int32)
    return lut[lab], old


def _nearest(n_out: int, n_in: int) -> np.ndarray:
    # Centre-aligned: output pixel i covers [i, i+1) * n_in / n_out of the input; its centre
    # lies in input pixel floor((i + 0.5) * n_in / n_out). Integer arithmetic, no rounding error.
    return np.minimum((2 * np.arange(n_out, dtype=np.int64) + 1) * n_in // (2 * n_out), n_in - 1)


def back_to_source(res: SegmentResult, raw: np.ndarray, scale: float) -> SegmentResult:
    """A resized image's result at the original size: labels sampled back (sample_labels),
    instances measured again on the original intensities; score and class are the resized
    instance's."""
    labels, old = sample_labels(res.labels, raw.shape[:2])
    props = ops.regionprops(labels, intensity=raw.astype(np.float32), shape=True)
    # Rows of the resized table in the new id order (its rows are sorted by id).
    rows = np.searchsorted(res.table["id"], old)
    table = ObjectTable.from_columns(
        {"id": props.pop("label"), **props, "score": res.table["score"][rows],
         "class": res.table["class"][rows]}, res.table.class_names)
    return SegmentResult(labels, table, res.cut_objects, res.timings, scale=scale)
