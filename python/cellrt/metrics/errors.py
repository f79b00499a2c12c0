"""Why objects fail to match: the error anatomy of a segmentation (after Caicedo et al. 2019,
"Evaluation of deep learning strategies for nucleus segmentation"), which says what to fix, where
AP and PQ only say how much is wrong.

Matching is PQ's (a pair matches at IoU > 0.5, which makes it one-to-one). Each unmatched
object gets exactly one cause, the first that applies, with ``cover`` the share of an object's
area that counts as "holding" it (default 0.5):

* a true object is **merged** if one predicted object holds ``cover`` of it and of another true
  object; **split** if it holds ``cover`` of each of two or more predicted objects; **missed** if
  less than ``cover`` of it is predicted foreground at all; otherwise a **poor fit** (found, but
  outlined at IoU <= 0.5);
* a predicted object is a **merge** if it holds ``cover`` of two or more true objects; a **split**
  piece if one true object holds ``cover`` of it and of another predicted object; **spurious** if
  less than ``cover`` of it lies on true foreground; otherwise a **poor fit**.

With ``cover`` > 0.5 no object can hold that share of two others, so ``cover`` is in (0, 0.5].
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from cellrt.metrics import _validate
from cellrt.metrics._overlap import Overlap, compute_overlap


@dataclass(frozen=True)
class ErrorAnatomy:
    """Counts of matched objects and of each cause of an unmatched one (pooled by ``+``)."""

    matched: int = 0
    true_missed: int = 0
    true_merged: int = 0
    true_split: int = 0
    true_poor_fit: int = 0
    pred_spurious: int = 0
    pred_merge: int = 0
    pred_split: int = 0
    pred_poor_fit: int = 0

    def __add__(self, other: "ErrorAnatomy") -> "ErrorAnatomy":
        return ErrorAnatomy(*(getattr(self, f.name) + getattr(other, f.name)
                              for f in fields(self)))

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _causes(own: np.ndarray, other: np.ndarray, own_area: np.ndarray, other_area: np.ndarray,
            inter: np.ndarray, matched: np.ndarray, cover: float) -> list[int]:
    """Counts of the unmatched objects on the `own` side of the overlap edges, by cause:
    [joined with another own object by one other-side object, broken into 2+ other-side
    objects, absent, poor fit] (true side: merged, split, missed, poor fit; predicted side:
    split piece, merge, spurious, poor fit)."""
    n = own_area.size
    # Edge e: the other-side object holds `cover` of the own object, and the reverse.
    other_holds = inter >= cover * own_area[own]
    own_holds = inter >= cover * other_area[other]
    other_holds_two = np.bincount(other[other_holds], minlength=other_area.size) >= 2
    joined = np.zeros(n, dtype=bool)
    joined[own[other_holds & other_holds_two[other]]] = True
    broken = np.bincount(own[own_holds], minlength=n) >= 2
    absent = np.bincount(own, weights=inter, minlength=n) < cover * own_area
    left = ~matched
    counts = []
    for cause in (joined, broken, absent):
        counts.append(int(np.count_nonzero(left & cause)))
        left &= ~cause
    return counts + [int(np.count_nonzero(left))]


def anatomy_from_overlap(ov: Overlap, cover: float) -> ErrorAnatomy:
    hit = ov.iou > 0.5
    matched_true = np.zeros(ov.n_true, dtype=bool)
    matched_true[ov.rows[hit]] = True
    matched_pred = np.zeros(ov.n_pred, dtype=bool)
    matched_pred[ov.cols[hit]] = True
    merged, split, missed, poor_t = _causes(ov.rows, ov.cols, ov.true_area, ov.pred_area,
                                            ov.inter, matched_true, cover)
    piece, merge, spurious, poor_p = _causes(ov.cols, ov.rows, ov.pred_area, ov.true_area,
                                             ov.inter, matched_pred, cover)
    return ErrorAnatomy(int(np.count_nonzero(hit)), missed, merged, split, poor_t, spurious,
                        merge, piece, poor_p)


def error_anatomy(true: Any, pred: Any, cover: float = 0.5) -> ErrorAnatomy:
    """The error anatomy of one image pair (module docstring): (H, W) integer label images."""
    t, p = _validate.label_pair(true, pred, "error_anatomy")
    return anatomy_from_overlap(compute_overlap(t, p), _validate.cover(cover, "error_anatomy"))
