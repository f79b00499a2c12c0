"""Accuracy metrics for instance segmentation of cells and nuclei (NumPy; scipy for assignment).

Inputs are 2-D integer label images: 0 = background, every other value one instance; ids need
not be sequential. All metrics derive from one sparse overlap table per image pair (instance
areas and the intersections of touching pairs, int64 pixel counts), see :func:`iou_matrix`.

Per image:
    :func:`average_precision`  AP = TP/(TP+FP+FN), precision, recall, F1 at IoU thresholds
    :func:`panoptic_quality`   PQ, DQ, SQ (IoU > 0.5)
    :func:`multiclass_pq`      per-class PQ and mPQ (CoNIC)
    :func:`aji`, :func:`aji_plus`   Aggregated Jaccard Index and HoVer-Net's AJI+
    :func:`dice`, :func:`object_dice`   pixel and object-level Dice
    :func:`error_anatomy`      why objects did not match: missed, merged, split, spurious, poor fit
Over a dataset:
    :class:`DatasetMetrics`    pooled (counts summed over images) and per-image-mean variants

A ratio with a zero denominator is 0.0 (StarDist's convention), e.g. AP of an image with no
object in either label image.

This package never imports cellrt's compiled modules, and imports scipy only when a one-to-one
assignment actually has conflicting candidates.
"""

from cellrt.metrics._overlap import IoUMatrix, iou_matrix
from cellrt.metrics.aggregated_jaccard import aji, aji_plus
from cellrt.metrics.detection import DEFAULT_THRESHOLDS, APResult, average_precision
from cellrt.metrics.dataset import DatasetMetrics, DatasetResult
from cellrt.metrics.dice_index import dice, object_dice
from cellrt.metrics.errors import ErrorAnatomy, error_anatomy
from cellrt.metrics.multiclass import MultiClassPQResult, multiclass_pq
from cellrt.metrics.panoptic import PQResult, panoptic_quality

__all__ = [
    "APResult",
    "DEFAULT_THRESHOLDS",
    "DatasetMetrics",
    "DatasetResult",
    "ErrorAnatomy",
    "IoUMatrix",
    "MultiClassPQResult",
    "PQResult",
    "aji",
    "aji_plus",
    "average_precision",
    "dice",
    "error_anatomy",
    "iou_matrix",
    "multiclass_pq",
    "object_dice",
    "panoptic_quality",
]
