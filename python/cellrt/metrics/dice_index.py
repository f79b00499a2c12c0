"""Dice coefficients: pixel-level foreground Dice and object-level Dice.

Object-level Dice (Sirinukunwattana et al., GlaS challenge, MedIA 2017) averages per-object Dice
in both directions, weighting each object by its share of its image's foreground:

    D_obj = 1/2 * [ sum_i |G_i|/|G| * Dice(G_i, S*(G_i)) + sum_j |S_j|/|S| * Dice(G*(S_j), S_j) ]

where S*(G_i) is the prediction sharing the most pixels with G_i and Dice = 0 for an object
that touches nothing on the other side. Among partners sharing equally many pixels the one with
the higher Dice is taken: the definition leaves such ties open, and this choice makes the score
independent of how instances are numbered. It penalises both missed and
spurious objects, unlike pixel Dice, which ignores how the foreground is split into objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellrt.metrics import _scores, _validate
from cellrt.metrics._assignment import best_edge_per_node
from cellrt.metrics._overlap import Overlap, compute_overlap


def dice_counts(ov: Overlap) -> tuple[int, int]:
    """(2 * shared foreground pixels, true + pred foreground pixels) of one image."""
    return 2 * ov.shared_pixels, ov.true_pixels + ov.pred_pixels


def _one_side(node, other, n_nodes, area, other_area, inter) -> float:
    """Area-weighted mean over one side's objects of Dice with their best-overlapping partner."""
    dice_edge = 2 * inter / (area[node] + other_area[other])
    best = best_edge_per_node(node, other, (inter, dice_edge), n_nodes)
    has = best >= 0
    dice_each = dice_edge[best[has]]
    return _scores.ratio(float(np.sum(area[has] * dice_each)), float(area.sum()))


def object_dice_value(ov: Overlap) -> float:
    from_true = _one_side(ov.rows, ov.cols, ov.n_true, ov.true_area, ov.pred_area, ov.inter)
    from_pred = _one_side(ov.cols, ov.rows, ov.n_pred, ov.pred_area, ov.true_area, ov.inter)
    return 0.5 * (from_true + from_pred)


def dice(true: Any, pred: Any) -> float:
    """Pixel-level Dice of the foregrounds (label > 0): 2|T & P| / (|T| + |P|).

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.

    Returns
    -------
    float
        In [0, 1]; 0.0 when neither image has foreground.
    """
    t, p = _validate.label_pair(true, pred, "dice")
    return _scores.ratio(*dice_counts(compute_overlap(t, p)))


def object_dice(true: Any, pred: Any) -> float:
    """Object-level Dice (GlaS) of one image; see :mod:`cellrt.metrics.dice_index`.

    Parameters
    ----------
    true, pred : (H, W) integer label images of the same shape; 0 = background.

    Returns
    -------
    float
        In [0, 1]; a side without objects contributes 0 to its half.
    """
    t, p = _validate.label_pair(true, pred, "object_dice")
    return object_dice_value(compute_overlap(t, p))
