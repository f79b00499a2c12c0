"""Scores from counts. Per-image and dataset-level (pooled) results use these same formulas;
only the counts fed to them differ.

Convention for empty denominators (StarDist's ``matching``): a ratio whose denominator is 0 is
0.0, never NaN. So an image with no object in either ``true`` or ``pred`` scores AP = PQ = AJI =
Dice = 0; dataset-level pooling is the way to let such images count for nothing.
"""

from __future__ import annotations

import numpy as np


def ratio(num, den):
    """num / den elementwise as float64, 0.0 where den == 0. Scalars in, Python float out."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)
    return float(out) if out.ndim == 0 else out


def detection(tp, fp, fn) -> dict:
    """Precision, recall, F1 and AP = TP / (TP + FP + FN) (the StarDist / Cellpose "AP")."""
    return {
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "ap": ratio(tp, tp + fp + fn),
    }


def panoptic(tp, fp, fn, iou_sum) -> dict:
    """Kirillov et al.: SQ = mean IoU of matched pairs, DQ = TP / (TP + FP/2 + FN/2), PQ = DQ*SQ."""
    sq = ratio(iou_sum, tp)
    dq = ratio(tp, tp + 0.5 * fp + 0.5 * fn)
    return {"pq": dq * sq, "dq": dq, "sq": sq}
