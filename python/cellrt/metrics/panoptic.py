"""Panoptic quality (Kirillov et al., CVPR 2019) for instance label images.

A true and a predicted instance match when IoU > 0.5 (strictly). Since IoU > 0.5 for two
partners of one instance would need more than its whole area, these pairs are one-to-one
without any assignment step. With TP matches, FP = n_pred - TP, FN = n_true - TP:

    SQ = (sum of matched IoUs) / TP,   DQ = TP / (TP + FP/2 + FN/2),   PQ = DQ * SQ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._overlap import Overlap, compute_overlap


@dataclass(frozen=True)
class PQResult:
    """Panoptic quality of one image, or pooled over a dataset (counts summed first)."""

    pq: float
    dq: float  # detection quality (an F1 at IoU > 0.5)
    sq: float  # mean IoU of the matched pairs
    tp: int
    fp: int
    fn: int
    iou_sum: float  # sum of the IoUs of the matched pairs
    n_true: int
    n_pred: int


def pq_matches(ov: Overlap) -> np.ndarray:
    """Mask over ``ov``'s edges of the pairs with IoU > 0.5, decided in exact integers."""
    return 2 * ov.inter > ov.union


def pq_counts(ov: Overlap) -> tuple[int, float]:
    """(TP, sum of matched IoUs) of one image."""
    m = pq_matches(ov)
    return int(np.count_nonzero(m)), float(ov.iou[m].sum())


def pq_result(tp: int, iou_sum: float, n_true: int, n_pred: int) -> PQResult:
    fp, fn = n_pred - tp, n_true - tp
    return PQResult(
        tp=int(tp),
        fp=int(fp),
        fn=int(fn),
        iou_sum=float(iou_sum),
        n_true=int(n_true),
        n_pred=int(n_pred),
        **_scores.panoptic(tp, fp, fn, iou_sum),
    )


def panoptic_quality(true: Any, pred: Any) -> PQResult:
    """PQ, DQ and SQ of one image (matching: IoU > 0.5).

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.

    Returns
    -------
    PQResult
        0.0 scores where a denominator is 0 (no match, or no instance at all).
    """
    t, p = _validate.label_pair(true, pred, "panoptic_quality")
    ov = compute_overlap(t, p)
    return pq_result(*pq_counts(ov), ov.n_true, ov.n_pred)
