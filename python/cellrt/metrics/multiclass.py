"""Multi-class panoptic quality as scored in the CoNIC challenge (Graham et al. 2021).

For each class c, only true and predicted instances of class c take part: a pair matches when
both have class c and IoU > 0.5. So a nucleus found with the wrong class is an FN of its true
class and an FP of the predicted one. Per class:

    PQ_c = (sum of matched IoUs) / (TP_c + FP_c/2 + FN_c/2),

and mPQ is the unweighted mean of PQ_c over the evaluated classes. CoNIC's "mPQ+" pools TP_c,
FP_c, FN_c and the IoU sums over all images before dividing (see DatasetMetrics); the per-image
function below applies the same formula to one image's counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._classes import instance_classes
from cellrt.metrics._overlap import Overlap, compute_overlap
from cellrt.metrics.panoptic import pq_matches


@dataclass(frozen=True)
class MultiClassPQResult:
    """Per-class panoptic counts and scores (arrays aligned with ``classes``) and their mean."""

    classes: np.ndarray  # (k,) int64, ascending
    tp: np.ndarray  # (k,) int64
    fp: np.ndarray  # (k,) int64
    fn: np.ndarray  # (k,) int64
    iou_sum: np.ndarray  # (k,) float64
    pq: np.ndarray  # (k,) float64
    dq: np.ndarray  # (k,) float64
    sq: np.ndarray  # (k,) float64
    mpq: float  # mean of pq over classes; 0.0 when there are no classes


@dataclass(frozen=True)
class ClassCounts:
    """Per-class counts of one image for the classes that occur in it (pooled by summing)."""

    classes: np.ndarray  # (k,) int64 ascending
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    iou_sum: np.ndarray


def class_counts(ov: Overlap, true_cls: np.ndarray, pred_cls: np.ndarray) -> ClassCounts:
    """Per-class TP/FP/FN and IoU sums; ``*_cls`` give the class of each instance of ``ov``."""
    classes, inv = np.unique(np.r_[true_cls, pred_cls], return_inverse=True)
    t_idx, p_idx = inv[: true_cls.size], inv[true_cls.size :]
    k = classes.size
    m = pq_matches(ov) & (true_cls[ov.rows] == pred_cls[ov.cols])
    tp = np.bincount(t_idx[ov.rows[m]], minlength=k).astype(np.int64)
    iou_sum = np.bincount(t_idx[ov.rows[m]], weights=ov.iou[m], minlength=k).astype(np.float64)
    n_true = np.bincount(t_idx, minlength=k).astype(np.int64)
    n_pred = np.bincount(p_idx, minlength=k).astype(np.int64)
    return ClassCounts(classes.astype(np.int64), tp, n_pred - tp, n_true - tp, iou_sum)


def multiclass_result(counts: ClassCounts, classes: np.ndarray | None) -> MultiClassPQResult:
    """Scores for ``classes`` (all counted classes if None); a class never seen scores 0."""
    if classes is None:
        classes = counts.classes
    _, at_counts, at_classes = np.intersect1d(counts.classes, classes, return_indices=True)

    def aligned(a: np.ndarray) -> np.ndarray:
        out = np.zeros(classes.size, dtype=a.dtype)
        out[at_classes] = a[at_counts]
        return out

    tp, fp, fn = aligned(counts.tp), aligned(counts.fp), aligned(counts.fn)
    iou_sum = aligned(counts.iou_sum)
    scores = _scores.panoptic(tp, fp, fn, iou_sum)
    mpq = float(scores["pq"].mean()) if classes.size else 0.0
    return MultiClassPQResult(
        classes=classes, tp=tp, fp=fp, fn=fn, iou_sum=iou_sum, mpq=mpq, **scores
    )


def evaluation_classes(classes: Any, func: str) -> np.ndarray | None:
    """``classes`` argument as sorted distinct int64, or None (= every class that occurs)."""
    if classes is None:
        return None
    arr = np.asarray(classes)
    # An empty list comes out as float64; it is still a (trivially) integer sequence.
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{func}: classes must be None or a sequence of integer classes, got dtype {arr.dtype}"
        )
    if arr.ndim != 1:
        raise ValueError(f"{func}: classes must be 1-D, got shape {tuple(arr.shape)}")
    return np.unique(arr.astype(np.int64))


def image_class_counts(
    t: np.ndarray, p: np.ndarray, ov: Overlap, true_classes: Any, pred_classes: Any, func: str
) -> ClassCounts:
    t_cls = instance_classes(true_classes, t, ov.true_ids, func, "true_classes")
    p_cls = instance_classes(pred_classes, p, ov.pred_ids, func, "pred_classes")
    return class_counts(ov, t_cls, p_cls)


def multiclass_pq(
    true: Any, pred: Any, true_classes: Any, pred_classes: Any, classes: Any = None
) -> MultiClassPQResult:
    """Per-class PQ and their mean (mPQ) for one image.

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.
    true_classes, pred_classes : class of each instance of ``true`` / ``pred``: a dict
        ``{id: class}``, a 1-D integer lookup table indexed by id, or a 2-D integer class map of
        the image's shape (majority class over each instance's pixels).
    classes : 1-D sequence of int, optional
        Classes to score and average. Default: every class of an instance in either image.
        Instances of other classes are ignored; a listed class absent from both images scores
        0 and still counts in the mean (as CoNIC averages over its fixed class list).

    Returns
    -------
    MultiClassPQResult
    """
    func = "multiclass_pq"
    t, p = _validate.label_pair(true, pred, func)
    wanted = evaluation_classes(classes, func)
    ov = compute_overlap(t, p)
    counts = image_class_counts(t, p, ov, true_classes, pred_classes, func)
    return multiclass_result(counts, wanted)
