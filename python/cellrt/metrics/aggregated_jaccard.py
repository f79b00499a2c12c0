"""Aggregated Jaccard Index: AJI (Kumar et al., IEEE TMI 2017) and AJI+ (Graham et al.,
HoVer-Net, MedIA 2019).

Both are C / U, a ratio of pixel counts summed over objects:

* AJI: every true instance G takes the predicted instance S of highest IoU with it (ties: the
  smallest pred id), C += |G & S|, U += |G | S|; a true instance that touches no prediction adds
  |G| to U. Finally U += |S| for every prediction no true instance took. A prediction may be
  taken by several true instances and its pixels then enter U several times, which is why one
  merged prediction over two nuclei is penalised more than once.
* AJI+: the pairs are instead a one-to-one matching of maximum IoU sum over overlapping pairs
  (Hungarian assignment); every unpaired instance on either side adds its area to U. This is
  HoVer-Net's fix for that over-penalisation. Since |G | S| = |G| + |S| - |G & S|,
  U = (true foreground) + (pred foreground) - C.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._assignment import best_edge_per_node, max_weight_matching
from cellrt.metrics._overlap import Overlap, compute_overlap


def aji_counts(ov: Overlap) -> tuple[int, int]:
    """(C, U) of AJI for one image, in pixels."""
    best = best_edge_per_node(ov.rows, ov.cols, (ov.iou,), ov.n_true)
    has = best >= 0
    edges = best[has]
    taken = np.zeros(ov.n_pred, dtype=bool)
    taken[ov.cols[edges]] = True
    c = int(ov.inter[edges].sum())
    u = int(ov.union[edges].sum() + ov.true_area[~has].sum() + ov.pred_area[~taken].sum())
    return c, u


def aji_plus_counts(ov: Overlap) -> tuple[int, int]:
    """(C, U) of AJI+ for one image, in pixels."""
    chosen = max_weight_matching(ov.rows, ov.cols, ov.iou)
    c = int(ov.inter[chosen].sum())
    return c, ov.true_pixels + ov.pred_pixels - c


def aji(true: Any, pred: Any) -> float:
    """Aggregated Jaccard Index of one image (Kumar et al. 2017), in [0, 1].

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.

    Returns
    -------
    float
        C / U as described in :mod:`cellrt.metrics.aggregated_jaccard`; 0.0 when both images
        are empty.
    """
    t, p = _validate.label_pair(true, pred, "aji")
    return _scores.ratio(*aji_counts(compute_overlap(t, p)))


def aji_plus(true: Any, pred: Any) -> float:
    """AJI+ of one image (HoVer-Net's one-to-one variant of AJI), in [0, 1].

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.

    Returns
    -------
    float
        C / U with pairs from a maximum-IoU-sum one-to-one matching; 0.0 when both are empty.
    """
    t, p = _validate.label_pair(true, pred, "aji_plus")
    return _scores.ratio(*aji_plus_counts(compute_overlap(t, p)))
