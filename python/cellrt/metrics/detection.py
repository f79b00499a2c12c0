"""Object-detection accuracy at IoU thresholds, as reported by StarDist and Cellpose.

At each threshold ``t`` the true and predicted instances are paired one-to-one with the most
pairs of IoU >= t (ties between equally large matchings go to the larger IoU sum), then

    TP = pairs, FP = n_pred - TP, FN = n_true - TP,
    AP = TP / (TP + FP + FN)   (the "average precision" of the DSB 2018 challenge, StarDist and
                                 Cellpose; COCO's interpolated AP is a different number),
    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = 2TP / (2TP + FP + FN).

For t > 0.5 an instance can overlap at most one partner with IoU >= t, so the pairs are simply
all pairs above t. At exactly t = 0.5 two halves of one object can both reach IoU = 1/2; either
pairing gives the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._assignment import max_cardinality_matching
from cellrt.metrics._overlap import Overlap, compute_overlap

DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(0.5, 1.0, 0.05), 2).tolist())


@dataclass(frozen=True)
class APResult:
    """Detection counts and scores, one entry per IoU threshold (arrays of shape (k,)).

    Per image from :func:`average_precision`; pooled over images (counts summed, then the
    formulas applied once) in :class:`~cellrt.metrics.DatasetMetrics`.
    """

    thresholds: np.ndarray  # float64, IoU thresholds in (0, 1]
    ap: np.ndarray  # float64, TP / (TP + FP + FN)
    tp: np.ndarray  # int64
    fp: np.ndarray  # int64
    fn: np.ndarray  # int64
    precision: np.ndarray  # float64
    recall: np.ndarray  # float64
    f1: np.ndarray  # float64
    iou_sum: np.ndarray  # float64, sum of the IoUs of the TP pairs
    n_true: int  # ground-truth instances
    n_pred: int  # predicted instances


def ap_counts(ov: Overlap, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TP count and matched-IoU sum at each threshold for one image."""
    tp = np.zeros(thresholds.size, dtype=np.int64)
    iou_sum = np.zeros(thresholds.size, dtype=np.float64)
    for k, t in enumerate(thresholds):
        ok = ov.iou >= t
        chosen = max_cardinality_matching(ov.rows[ok], ov.cols[ok], ov.iou[ok])
        tp[k] = np.count_nonzero(chosen)
        iou_sum[k] = ov.iou[ok][chosen].sum()
    return tp, iou_sum


def ap_result(
    thresholds: np.ndarray, tp: np.ndarray, iou_sum: np.ndarray, n_true: int, n_pred: int
) -> APResult:
    fp = n_pred - tp
    fn = n_true - tp
    return APResult(
        thresholds=thresholds,
        tp=tp,
        fp=fp,
        fn=fn,
        iou_sum=iou_sum,
        n_true=int(n_true),
        n_pred=int(n_pred),
        **_scores.detection(tp, fp, fn),
    )


def average_precision(
    true: Any, pred: Any, thresholds: Any = DEFAULT_THRESHOLDS
) -> APResult:
    """AP = TP / (TP + FP + FN) and precision, recall, F1 of one image at each IoU threshold.

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background, any positive
        instance ids (not necessarily sequential).
    thresholds : float or 1-D sequence of floats in (0, 1]
        IoU thresholds; a pair counts at ``t`` when IoU >= t. Default 0.5, 0.55, ..., 0.95.
        Values are rounded to 12 decimals so that ``np.arange`` artefacts (0.7000000000000001)
        do not reject pairs whose IoU is exactly the intended threshold.

    Returns
    -------
    APResult
        Arrays over thresholds. With no instance in either image every count is 0 and every
        score is 0.0 (StarDist's convention for 0/0).
    """
    t, p = _validate.label_pair(true, pred, "average_precision")
    thr = _validate.thresholds(thresholds, "average_precision")
    ov = compute_overlap(t, p)
    tp, iou_sum = ap_counts(ov, thr)
    return ap_result(thr, tp, iou_sum, ov.n_true, ov.n_pred)
