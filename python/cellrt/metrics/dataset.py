"""Dataset-level metrics: accumulate counts image by image, score once at the end.

Two kinds of average appear in the literature and give different numbers, so both are named:

* **pooled** (dataset-level): the counts of every image (TP/FP/FN, IoU sums, AJI's C and U,
  pixel counts) are summed, and the score formula is applied once to the sums. Large images and
  images with many objects weigh more; empty images add nothing. StarDist's
  ``matching_dataset(by_image=False)``, CoNIC's mPQ+ and the dataset AJI use this.
* **mean** (per image): the score of each image, then the arithmetic mean over the images in
  which it is defined, i.e. that have at least one object in ``true`` or ``pred``; images empty
  on both sides are left out rather than counted as 0 (StarDist's ``by_image=True`` would count
  them as 0). Cellpose and HoVer-Net report AP / AJI this way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._overlap import compute_overlap
from cellrt.metrics.aggregated_jaccard import aji_counts, aji_plus_counts
from cellrt.metrics.detection import DEFAULT_THRESHOLDS, APResult, ap_counts, ap_result
from cellrt.metrics.dice_index import dice_counts
from cellrt.metrics.errors import ErrorAnatomy, anatomy_from_overlap
from cellrt.metrics.multiclass import (
    ClassCounts,
    MultiClassPQResult,
    evaluation_classes,
    image_class_counts,
    multiclass_result,
)
from cellrt.metrics.panoptic import PQResult, pq_counts, pq_result


@dataclass(frozen=True)
class DatasetResult:
    """Scores over all images added to a :class:`DatasetMetrics`. See the module docstring
    for "pooled" and "mean"; ``n_images_nonempty`` is the number of images each mean is over."""

    n_images: int
    n_images_nonempty: int  # images with at least one instance in true or pred
    ap: APResult  # pooled: TP/FP/FN summed per threshold, then AP, precision, recall, F1
    ap_mean: np.ndarray  # (k,) mean over non-empty images of per-image AP
    pq: PQResult  # pooled: TP/FP/FN and IoU sums summed, then PQ, DQ, SQ
    pq_mean: float  # mean over non-empty images of per-image PQ
    aji: float  # pooled: sum of C over sum of U (dataset AJI)
    aji_mean: float  # mean over non-empty images of per-image AJI
    aji_plus: float  # pooled AJI+
    aji_plus_mean: float  # mean over non-empty images of per-image AJI+
    dice: float  # pooled pixel Dice: 2 * sum |T & P| / sum (|T| + |P|)
    dice_mean: float  # mean over non-empty images of per-image pixel Dice
    # Pooled per class; CoNIC's mPQ+ is multiclass.mpq. None when no classes were given.
    multiclass: MultiClassPQResult | None
    errors: ErrorAnatomy  # pooled: why unmatched objects did not match (cellrt.metrics.errors)


class DatasetMetrics:
    """Accumulator of instance-segmentation metrics over many images.

    Parameters
    ----------
    thresholds : float or 1-D sequence of floats in (0, 1]
        IoU thresholds of the AP family (as in :func:`~cellrt.metrics.average_precision`).
    classes : 1-D sequence of int, optional
        Classes scored by the multi-class PQ (CoNIC's fixed list, e.g. 1..6). Default: every class
        that occurs in any added image. A listed class that never occurs scores PQ 0 and still
        counts in mPQ+, as in CoNIC; instances of unlisted classes are ignored.

    Memory is a few numbers per image (counts, never label images).
    """

    def __init__(self, thresholds: Any = DEFAULT_THRESHOLDS, classes: Any = None,
                 cover: float = 0.5) -> None:
        self._thresholds = _validate.thresholds(thresholds, "DatasetMetrics")
        self._cover = _validate.cover(cover, "DatasetMetrics")
        self._errors = ErrorAnatomy()
        self._classes = evaluation_classes(classes, "DatasetMetrics")
        k = self._thresholds.size
        self._n_images = 0
        self._n_true = self._n_pred = 0
        self._ap_tp = np.zeros(k, dtype=np.int64)
        self._ap_iou = np.zeros(k, dtype=np.float64)
        self._pq_tp, self._pq_iou = 0, 0.0
        # Pooled numerator / denominator pairs, in pixels.
        self._aji = np.zeros(2, dtype=np.int64)
        self._aji_plus = np.zeros(2, dtype=np.int64)
        self._dice = np.zeros(2, dtype=np.int64)
        # Per-image scores of non-empty images, for the means.
        self._per_image: dict[str, list] = {
            name: [] for name in ("ap", "pq", "aji", "aji_plus", "dice")
        }
        self._with_classes: bool | None = None
        self._class_counts: dict[int, np.ndarray] = {}  # class -> [tp, fp, fn, iou_sum]

    @property
    def n_images(self) -> int:
        return self._n_images

    def add(
        self, true: Any, pred: Any, true_classes: Any = None, pred_classes: Any = None
    ) -> None:
        """Add one image: its label images and, for multi-class PQ, the classes of its instances.

        ``true_classes`` / ``pred_classes`` take the forms of
        :func:`~cellrt.metrics.multiclass_pq`; give both for every image or for none.
        """
        func = "DatasetMetrics.add"
        t, p = _validate.label_pair(true, pred, func)
        with_classes = self._check_class_args(true_classes, pred_classes, func)
        ov = compute_overlap(t, p)
        # Class specs are read before anything is accumulated, so a bad one leaves no trace.
        counts = (
            image_class_counts(t, p, ov, true_classes, pred_classes, func) if with_classes else None
        )

        tp, iou_sum = ap_counts(ov, self._thresholds)
        pq_tp, pq_iou = pq_counts(ov)
        aji_cu, aji_plus_cu, dice_nd = aji_counts(ov), aji_plus_counts(ov), dice_counts(ov)

        self._with_classes = with_classes
        self._n_images += 1
        self._n_true += ov.n_true
        self._n_pred += ov.n_pred
        self._ap_tp += tp
        self._ap_iou += iou_sum
        self._pq_tp += pq_tp
        self._pq_iou += pq_iou
        self._aji += aji_cu
        self._aji_plus += aji_plus_cu
        self._dice += dice_nd
        self._errors = self._errors + anatomy_from_overlap(ov, self._cover)
        if counts is not None:
            self._add_class_counts(counts)
        if ov.n_true or ov.n_pred:
            one = ap_result(self._thresholds, tp, iou_sum, ov.n_true, ov.n_pred)
            self._per_image["ap"].append(one.ap)
            self._per_image["pq"].append(pq_result(pq_tp, pq_iou, ov.n_true, ov.n_pred).pq)
            self._per_image["aji"].append(_scores.ratio(*aji_cu))
            self._per_image["aji_plus"].append(_scores.ratio(*aji_plus_cu))
            self._per_image["dice"].append(_scores.ratio(*dice_nd))

    def _check_class_args(self, true_classes: Any, pred_classes: Any, func: str) -> bool:
        given = (true_classes is not None, pred_classes is not None)
        if given[0] != given[1]:
            missing = "pred_classes" if given[0] else "true_classes"
            raise ValueError(f"{func}: {missing} is required when the other class spec is given")
        if self._with_classes is not None and given[0] != self._with_classes:
            before = "with" if self._with_classes else "without"
            raise ValueError(
                f"{func}: earlier images were added {before} classes; give true_classes and "
                "pred_classes for every image or for none"
            )
        return given[0]

    def _add_class_counts(self, counts: ClassCounts) -> None:
        for i, c in enumerate(counts.classes.tolist()):
            row = np.array(
                [counts.tp[i], counts.fp[i], counts.fn[i], counts.iou_sum[i]], dtype=np.float64
            )
            self._class_counts[c] = self._class_counts.get(c, np.zeros(4)) + row

    def _multiclass(self) -> MultiClassPQResult | None:
        if not self._with_classes:
            return None
        seen = np.array(sorted(self._class_counts), dtype=np.int64)
        table = np.array([self._class_counts[c] for c in seen.tolist()]).reshape(-1, 4)
        # Counts were carried as float64 next to the IoU sums; they are exact integers < 2**53.
        tp, fp, fn = (table[:, j].astype(np.int64) for j in range(3))
        pooled = ClassCounts(seen, tp, fp, fn, table[:, 3])
        return multiclass_result(pooled, self._classes)

    def _mean(self, key: str):
        values = self._per_image[key]
        if not values:
            return np.zeros(self._thresholds.size) if key == "ap" else 0.0
        return np.mean(values, axis=0) if key == "ap" else float(np.mean(values))

    def result(self) -> DatasetResult:
        """Scores of everything added so far (the accumulator stays usable)."""
        return DatasetResult(
            n_images=self._n_images,
            n_images_nonempty=len(self._per_image["pq"]),
            ap=ap_result(
                self._thresholds,
                self._ap_tp.copy(),
                self._ap_iou.copy(),
                self._n_true,
                self._n_pred,
            ),
            ap_mean=self._mean("ap"),
            pq=pq_result(self._pq_tp, self._pq_iou, self._n_true, self._n_pred),
            pq_mean=self._mean("pq"),
            aji=_scores.ratio(*self._aji),
            aji_mean=self._mean("aji"),
            aji_plus=_scores.ratio(*self._aji_plus),
            aji_plus_mean=self._mean("aji_plus"),
            dice=_scores.ratio(*self._dice),
            dice_mean=self._mean("dice"),
            multiclass=self._multiclass(),
            errors=self._errors,
        )
