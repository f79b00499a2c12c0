"""Reference greedy NMS in plain NumPy: O(N^2), obviously correct, the test oracle.

Semantics (identical to ``torchvision.ops.nms``):

* boxes are ``x1, y1, x2, y2`` corners, ``area = (x2 - x1) * (y2 - y1)`` (no +1);
* boxes are visited by decreasing score; equal scores by lower index (a stable sort);
  NaN scores come first (``torch.sort(descending=True)`` puts NaN first);
* a visited box that is still alive is kept and suppresses every later box whose
  ``IoU > iou_threshold`` (strictly);
* ``IoU = inter / (area_kept + area_other - inter)`` is computed **in the boxes' dtype**
  (float32 stays float32, like torchvision's kernel) and only the comparison with the threshold
  is made in float64 (torchvision compares a float ``ovr`` with a double threshold). Doing the
  arithmetic in float64 instead would flip pairs whose IoU sits on the threshold.

NaN coordinates make the area, hence the IoU, NaN, and ``NaN > t`` is false: such boxes neither
suppress nor are suppressed. Per-category NMS (:func:`batched_nms_ref`) runs the same greedy pass
where boxes of different categories are never compared.

:func:`cell_like_boxes` makes the synthetic detections the tests and the benchmark use.
"""

from __future__ import annotations

import numpy as np


def _greedy_order(scores: np.ndarray) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    # lexsort: last key is primary. NaN first, then descending value, then ascending index;
    # -0.0 and 0.0 compare equal, as in torch.sort.
    key = np.where(np.isnan(s), -np.inf, -s)
    nan_last = ~np.isnan(s)
    return np.lexsort((np.arange(s.size), key, nan_last))


def _iou_row(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one box with each row of `others`, in the boxes' dtype, torchvision's op order."""
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    xx1 = np.maximum(box[0], others[:, 0])
    yy1 = np.maximum(box[1], others[:, 1])
    xx2 = np.minimum(box[2], others[:, 2])
    yy2 = np.minimum(box[3], others[:, 3])
    zero = box.dtype.type(0)
    w = np.maximum(zero, xx2 - xx1)
    h = np.maximum(zero, yy2 - yy1)
    inter = w * h
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return inter / (area + areas - inter)


def nms_ref(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
            idxs: np.ndarray | None = None) -> np.ndarray:
    """Kept indices (int64, decreasing score) of greedy NMS; per category if `idxs` is given."""
    boxes = np.asarray(boxes)
    if boxes.dtype not in (np.float32, np.float64):
        boxes = boxes.astype(np.float64)
    n = boxes.shape[0]
    order = _greedy_order(scores)
    cls = np.zeros(n, np.int64) if idxs is None else np.asarray(idxs, dtype=np.int64)
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    thr = float(iou_threshold)
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        later = order[pos + 1:]
        later = later[(~suppressed[later]) & (cls[later] == cls[i])]
        if later.size == 0:
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            # The NaN comparison is deliberately False (never suppress); errstate hides the warning.
            hit = _iou_row(boxes[i], boxes[later]).astype(np.float64) > thr
        suppressed[later[hit]] = True
    return np.asarray(keep, dtype=np.int64)


def batched_nms_ref(boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray,
                    iou_threshold: float) -> np.ndarray:
    """Per-category greedy NMS: boxes with different `idxs` never suppress each other."""
    return nms_ref(boxes, scores, iou_threshold, idxs=idxs)


def cell_like_boxes(rng: np.random.Generator, n_boxes: int, *, radius=(8.0, 20.0),
                    duplicates=(5, 10), coverage: float = 0.3, dtype=np.float32):
    """Synthetic nucleus detections: a detector's raw output before NMS.

    Nuclei have radii uniform in `radius` (pixels) and centres uniform on a square image sized so
    that nuclei cover `coverage` of it (their boxes overlap a little, as touching nuclei do).
    Each nucleus yields one box plus `duplicates` (inclusive range) jittered copies (centre +-15%
    of the radius, size +-15%), with scores near a per-nucleus base score. Returns
    ``(boxes (n_boxes, 4) dtype, scores (n_boxes,) float32, image_side_px)``, boxes shuffled.
    """
    mean_dups = 1.0 + 0.5 * (duplicates[0] + duplicates[1])
    n_nuclei = max(1, int(round(n_boxes / mean_dups)))
    r = rng.uniform(radius[0], radius[1], n_nuclei)
    side = float(np.sqrt(np.pi * np.sum(r * r) / coverage))
    centres = rng.uniform(0.0, side, (n_nuclei, 2))
    counts = 1 + rng.integers(duplicates[0], duplicates[1] + 1, n_nuclei)
    owner = np.repeat(np.arange(n_nuclei), counts)
    # Trim or pad (with extra duplicates of random nuclei) to exactly n_boxes.
    if owner.size >= n_boxes:
        owner = owner[:n_boxes]
    else:
        owner = np.concatenate([owner, rng.integers(0, n_nuclei, n_boxes - owner.size)])
    ro = r[owner]
    c = centres[owner] + rng.uniform(-0.15, 0.15, (n_boxes, 2)) * ro[:, None]
    half_w = ro * rng.uniform(0.85, 1.15, n_boxes)
    half_h = ro * rng.uniform(0.85, 1.15, n_boxes)
    boxes = np.stack([c[:, 0] - half_w, c[:, 1] - half_h, c[:, 0] + half_w, c[:, 1] + half_h], 1)
    # Scores: a per-nucleus confidence plus per-box noise, in logit space so they stay in (0, 1)
    # without piling up on a clip value (ties still occur through float32 rounding).
    base = rng.uniform(-1.0, 3.0, n_nuclei)
    scores = 1.0 / (1.0 + np.exp(-(base[owner] + rng.normal(0.0, 0.3, n_boxes))))
    perm = rng.permutation(n_boxes)
    return boxes[perm].astype(dtype), scores[perm].astype(np.float32), side
