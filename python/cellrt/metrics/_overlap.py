"""The matching core: every (true, pred) instance pair that shares at least one pixel.

All metrics here are functions of instance areas and pairwise intersections. Both come from one
pass over the paired pixel ids of the two label images, so the cost is a few sorts of the pixel
array, independent of the number of instances; pairs that do not touch are never materialised
(a dense n_true x n_pred table would be mostly zeros for thousands of nuclei).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cellrt.metrics import _validate


@dataclass(frozen=True)
class Overlap:
    """Sparse overlap of one true / pred label-image pair (background excluded).

    Instance ``i`` of ``true`` is ``true_ids[i]``; pairs are edges ``(rows[e], cols[e])`` indexing
    ``true_ids`` / ``pred_ids``, listed once each, with ``inter[e] > 0`` pixels in common.
    Areas, intersections and unions are int64 pixel counts.
    """

    true_ids: np.ndarray  # (n_true,) sorted, input dtype
    pred_ids: np.ndarray  # (n_pred,)
    true_area: np.ndarray  # (n_true,) int64
    pred_area: np.ndarray  # (n_pred,) int64
    rows: np.ndarray  # (n_edges,) int64
    cols: np.ndarray  # (n_edges,) int64
    inter: np.ndarray  # (n_edges,) int64
    union: np.ndarray  # (n_edges,) int64
    iou: np.ndarray  # (n_edges,) float64

    @property
    def n_true(self) -> int:
        return int(self.true_ids.size)

    @property
    def n_pred(self) -> int:
        return int(self.pred_ids.size)

    @property
    def true_pixels(self) -> int:
        return int(self.true_area.sum())

    @property
    def pred_pixels(self) -> int:
        return int(self.pred_area.sum())

    @property
    def shared_pixels(self) -> int:
        """Pixels that are foreground in both images."""
        return int(self.inter.sum())


def _instances(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted instance ids (input dtype), each pixel's index into them (int64, -1 = background)
    and each instance's area (int64)."""
    top = int(flat.max()) if flat.size else 0
    if top < 2 * flat.size + 65536:
        # Ids are small enough for a lookup table: linear time, no sort. (np.unique's
        # return_inverse uses a stable argsort, several times slower than everything else here.)
        present = np.bincount(flat.astype(np.intp, copy=False), minlength=top + 1)
        present[0] = 0
        ids = np.flatnonzero(present)
        lut = np.full(top + 1, -1, dtype=np.int64)
        lut[ids] = np.arange(ids.size, dtype=np.int64)
        index = lut[flat]
        area = present[ids].astype(np.int64, copy=False)
        return ids.astype(flat.dtype), index, area
    # Huge ids (e.g. hashes in uint64): sort the distinct values, binary-search each pixel.
    ids = np.unique(flat)
    ids = ids[ids > 0]
    index = np.searchsorted(ids, flat).astype(np.int64, copy=False)
    index[flat == 0] = -1
    area = np.bincount(index[index >= 0], minlength=ids.size).astype(np.int64, copy=False)
    return ids, index, area


def compute_overlap(true: np.ndarray, pred: np.ndarray) -> Overlap:
    """Overlap of two validated label images of equal shape."""
    t_ids, t_index, t_area = _instances(true.ravel())
    p_ids, p_index, p_area = _instances(pred.ravel())
    both = (t_index >= 0) & (p_index >= 0)
    n_p = np.int64(p_ids.size)
    pair = t_index[both] * n_p + p_index[both]
    n_cells = int(t_ids.size) * int(n_p)
    if n_cells <= pair.size:
        # The full table is no bigger than the overlapping pixels: counting beats a sort.
        counts = np.bincount(pair, minlength=n_cells).astype(np.int64, copy=False)
        codes = np.flatnonzero(counts).astype(np.int64, copy=False)
        inter = counts[codes]
    else:
        codes, inter = np.unique(pair, return_counts=True)
        inter = inter.astype(np.int64, copy=False)
    rows, cols = np.divmod(codes, n_p)
    union = t_area[rows] + p_area[cols] - inter
    return Overlap(
        true_ids=t_ids,
        pred_ids=p_ids,
        true_area=t_area,
        pred_area=p_area,
        rows=rows,
        cols=cols,
        inter=inter,
        union=union,
        iou=inter / union,
    )


class IoUMatrix(NamedTuple):
    """Dense IoU table: ``iou[i, j]`` is the IoU of ``true_ids[i]`` and ``pred_ids[j]``."""

    iou: np.ndarray  # (n_true, n_pred) float64
    true_ids: np.ndarray  # (n_true,) sorted instance ids of `true`
    pred_ids: np.ndarray  # (n_pred,) sorted instance ids of `pred`


def iou_matrix(true: Any, pred: Any) -> IoUMatrix:
    """Intersection over union of every true instance with every predicted instance.

    Parameters
    ----------
    true, pred : (H, W) integer label images, 0 = background, any positive ids (not necessarily
        sequential). Same shape.

    Returns
    -------
    IoUMatrix
        ``(iou, true_ids, pred_ids)``; ``iou`` is float64 of shape (n_true, n_pred), rows and
        columns in ascending id order, 0 for pairs that share no pixel.
    """
    t, p = _validate.label_pair(true, pred, "iou_matrix")
    ov = compute_overlap(t, p)
    dense = np.zeros((ov.n_true, ov.n_pred), dtype=np.float64)
    dense[ov.rows, ov.cols] = ov.iou
    return IoUMatrix(dense, ov.true_ids, ov.pred_ids)
