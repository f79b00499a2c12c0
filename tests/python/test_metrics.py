"""Segmentation-accuracy metrics: hand-computed cases, invariances, error paths, and brute-force
cross-checks of the sparse matching core against per-pair mask loops."""

from __future__ import annotations

import subprocess
import sys
from itertools import product

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from cellrt import metrics as M

THR = M.DEFAULT_THRESHOLDS  # 0.5, 0.55, ..., 0.95


def canvas(shape=(40, 40), dtype=np.int32):
    return np.zeros(shape, dtype=dtype)


def rect(img, label, r0, c0, h, w):
    img[r0 : r0 + h, c0 : c0 + w] = label
    return img


def all_scores(true, pred, **kw):
    """Every single-image metric of a pair, as a flat dict of plain numbers, for comparisons."""
    ap = M.average_precision(true, pred, **kw)
    pq = M.panoptic_quality(true, pred)
    return {
        **{f"ap_{k}": v for k, v in enumerate(ap.ap.tolist())},
        **{f"tp_{k}": v for k, v in enumerate(ap.tp.tolist())},
        **{f"iou_sum_{k}": v for k, v in enumerate(ap.iou_sum.tolist())},
        "pq": pq.pq,
        "sq": pq.sq,
        "dq": pq.dq,
        "aji": M.aji(true, pred),
        "aji_plus": M.aji_plus(true, pred),
        "dice": M.dice(true, pred),
        "object_dice": M.object_dice(true, pred),
    }


# --------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------


def test_shifted_square():
    # A 10x10 square and the same square shifted right by 2 px:
    # |T| = |P| = 100, |T & P| = 10 * 8 = 80, |T | P| = 120, IoU = 80 / 120 = 2/3.
    t = rect(canvas(), 5, 5, 5, 10, 10)
    p = rect(canvas(), 17, 5, 7, 10, 10)
    ap = M.average_precision(t, p)
    # Matched at 0.5 .. 0.65 (2/3 >= 0.65), not from 0.7 on.
    expect_tp = (np.asarray(THR) <= 2 / 3).astype(int)
    np.testing.assert_array_equal(ap.tp, expect_tp)
    np.testing.assert_array_equal(ap.fp, 1 - expect_tp)
    np.testing.assert_array_equal(ap.fn, 1 - expect_tp)
    np.testing.assert_allclose(ap.ap, expect_tp)  # 1/(1+0+0) or 0/(0+1+1)
    np.testing.assert_allclose(ap.iou_sum, expect_tp * 2 / 3)
    assert (ap.n_true, ap.n_pred) == (1, 1)

    pq = M.panoptic_quality(t, p)
    assert (pq.tp, pq.fp, pq.fn) == (1, 0, 0)
    assert pq.sq == pytest.approx(2 / 3) and pq.dq == 1.0 and pq.pq == pytest.approx(2 / 3)
    assert M.aji(t, p) == pytest.approx(80 / 120)
    assert M.aji_plus(t, p) == pytest.approx(80 / 120)
    assert M.dice(t, p) == pytest.approx(2 * 80 / 200)
    # One object each side, both weights 1: object Dice = pixel Dice here.
    assert M.object_dice(t, p) == pytest.approx(0.8)


def test_iou_exactly_at_threshold():
    # Pred = 7 of the 10 rows of a 10x10 true square: IoU = 70 / 100 = 0.7 exactly. The default
    # thresholds come from np.arange, whose "0.7" is 0.7000000000000001: it must still match.
    t = rect(canvas(), 1, 0, 0, 10, 10)
    p = rect(canvas(), 1, 0, 0, 7, 10)
    ap = M.average_precision(t, p, thresholds=np.arange(0.5, 1.0, 0.05))
    np.testing.assert_array_equal(ap.tp, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    assert ap.thresholds[4] == 0.7

    # IoU exactly 0.5 (5 of 10 rows): an AP match at 0.5 (>=), not a PQ match (> 0.5).
    p_half = rect(canvas(), 1, 0, 0, 5, 10)
    assert M.average_precision(t, p_half, thresholds=0.5).tp.tolist() == [1]
    pq = M.panoptic_quality(t, p_half)
    assert (pq.tp, pq.fp, pq.fn, pq.pq) == (0, 1, 1, 0.0)
    # One pixel more makes it 51/100 > 0.5.
    p_half[5, 0] = 1
    assert M.panoptic_quality(t, p_half).tp == 1


def test_split_object():
    # True: one 10x10 object (100 px). Pred splits it into rows 0-5 (60 px, id 4) and rows 6-9
    # (40 px, id 9). IoU(T, P4) = 60/100 = 0.6, IoU(T, P9) = 40/100 = 0.4.
    t = rect(canvas(), 3, 0, 0, 10, 10)
    p = rect(rect(canvas(), 4, 0, 0, 6, 10), 9, 6, 0, 4, 10)
    ap = M.average_precision(t, p, thresholds=[0.3, 0.5, 0.65])
    # 0.3: both qualify but one-to-one allows one pair -> TP 1, FP 1, FN 0, AP 1/2.
    # 0.5: only P4 -> same counts. 0.65: none -> TP 0, FP 2, FN 1, AP 0.
    np.testing.assert_array_equal(ap.tp, [1, 1, 0])
    np.testing.assert_array_equal(ap.fp, [1, 1, 2])
    np.testing.assert_array_equal(ap.fn, [0, 0, 1])
    np.testing.assert_allclose(ap.ap, [1 / 2, 1 / 2, 0])
    np.testing.assert_allclose(ap.precision, [1 / 2, 1 / 2, 0])
    np.testing.assert_allclose(ap.recall, [1, 1, 0])
    np.testing.assert_allclose(ap.f1, [2 / 3, 2 / 3, 0])  # 2TP / (2TP + FP + FN) = 2/3
    # At 0.3 the kept pair is the larger-IoU one (tie-break of equal-size matchings).
    assert ap.iou_sum[0] == pytest.approx(0.6)

    pq = M.panoptic_quality(t, p)
    # TP 1 (0.6), FP 1, FN 0: DQ = 1 / (1 + 1/2) = 2/3, SQ = 0.6, PQ = 0.4.
    assert (pq.tp, pq.fp, pq.fn) == (1, 1, 0)
    assert pq.dq == pytest.approx(2 / 3) and pq.sq == pytest.approx(0.6)
    assert pq.pq == pytest.approx(0.4)
    # AJI: T takes P4: C = 60, U = |T | P4| = 100, plus unused P9 (40): 60 / 140 = 3/7.
    assert M.aji(t, p) == pytest.approx(3 / 7)
    # AJI+: one-to-one pair (T, P4) as well: C = 60, U = 100 + 100 - 60 = 140.
    assert M.aji_plus(t, p) == pytest.approx(3 / 7)
    assert M.dice(t, p) == 1.0  # same foreground
    # Object Dice: true side: Dice(T, P4) = 120 / 160 = 3/4 (weight 1).
    # Pred side: P4 -> 3/4 (weight 0.6), P9 -> Dice(T, P9) = 80/140 = 4/7 (weight 0.4).
    # 1/2 * (3/4 + 0.45 + 1.6/7) = 1/2 * 10/7 = 5/7.
    assert M.object_dice(t, p) == pytest.approx(5 / 7)


def test_split_into_exact_halves_is_one_match_at_half():
    # Two halves of 50 px each both have IoU exactly 0.5 with the 100 px true object:
    # at t = 0.5 (>=) only one of them can be the match.
    t = rect(canvas(), 1, 0, 0, 10, 10)
    p = rect(rect(canvas(), 2, 0, 0, 5, 10), 8, 5, 0, 5, 10)
    ap = M.average_precision(t, p, thresholds=0.5)
    assert (ap.tp[0], ap.fp[0], ap.fn[0]) == (1, 1, 0)
    # AJI ties -> the smaller pred id (2): C = 50, U = 100 + 50 (unused id 8) -> 1/3.
    assert M.aji(t, p) == pytest.approx(1 / 3)
    assert M.aji_plus(t, p) == pytest.approx(1 / 3)


def test_merged_objects():
    # True: T1 10x10 (100 px) and T2 6x10 (60 px) touching; pred: one object over both (160 px).
    # IoU(T1, P) = 100/160 = 0.625, IoU(T2, P) = 60/160 = 0.375.
    t = rect(rect(canvas(), 1, 0, 0, 10, 10), 2, 10, 0, 6, 10)
    p = rect(canvas(), 5, 0, 0, 16, 10)
    ap = M.average_precision(t, p, thresholds=[0.5, 0.65])
    np.testing.assert_array_equal(ap.tp, [1, 0])
    np.testing.assert_array_equal(ap.fp, [0, 1])
    np.testing.assert_array_equal(ap.fn, [1, 2])
    np.testing.assert_allclose(ap.ap, [1 / 2, 0])
    np.testing.assert_allclose(ap.precision, [1, 0])
    np.testing.assert_allclose(ap.recall, [1 / 2, 0])
    pq = M.panoptic_quality(t, p)
    # TP 1, FP 0, FN 1: DQ = 2/3, SQ = 0.625, PQ = 5/12.
    assert (pq.tp, pq.fp, pq.fn) == (1, 0, 1)
    assert pq.pq == pytest.approx(5 / 12)
    # AJI: both T1 and T2 take P; P enters U twice. C = 100 + 60, U = 160 + 160 -> 1/2.
    assert M.aji(t, p) == pytest.approx(0.5)
    # AJI+: only (T1, P) is paired, T2 is unpaired: C = 100, U = 160 + 160 - 100 = 220.
    assert M.aji_plus(t, p) == pytest.approx(100 / 220)


def test_false_positive_and_false_negative():
    sq = rect(canvas(), 1, 2, 2, 10, 10)  # 100 px
    # FP: the same square plus a spurious 5x5 (25 px).
    p = rect(sq.copy(), 2, 20, 20, 5, 5)
    ap = M.average_precision(sq, p)
    np.testing.assert_array_equal(ap.tp, 1)
    np.testing.assert_array_equal(ap.fp, 1)
    np.testing.assert_array_equal(ap.fn, 0)
    np.testing.assert_allclose(ap.ap, 1 / 2)
    pq = M.panoptic_quality(sq, p)
    assert pq.dq == pytest.approx(2 / 3) and pq.sq == 1.0  # DQ = 1 / (1 + 1/2)
    assert M.aji(sq, p) == pytest.approx(100 / 125)  # the unused FP adds its 25 px to U
    assert M.aji_plus(sq, p) == pytest.approx(100 / 125)

    # FN: true has the square plus a 6x6 object (36 px) that the prediction misses.
    t = rect(sq.copy(), 7, 20, 20, 6, 6)
    ap = M.average_precision(t, sq)
    np.testing.assert_array_equal(ap.fn, 1)
    np.testing.assert_allclose(ap.recall, 1 / 2)
    np.testing.assert_allclose(ap.precision, 1)
    assert M.aji(t, sq) == pytest.approx(100 / 136)
    assert M.dice(t, sq) == pytest.approx(200 / 236)
    # Object Dice: true side 100/136 * 1 + 36/136 * 0; pred side 1 -> 1/2 (100/136 + 1).
    assert M.object_dice(t, sq) == pytest.approx(0.5 * (100 / 136 + 1))


def test_object_dice_ties_take_the_better_dice_whatever_the_ids():
    # T: 10x10 (100 px). Pa: T's rows 0-2 (30 px). Pb: T's rows 7-9 plus 20 px outside T
    # (50 px). Both share 30 px with T; Dice(T, Pa) = 60/130 beats Dice(T, Pb) = 60/150.
    t = rect(canvas(), 1, 0, 0, 10, 10)
    for a, b in ((2, 3), (3, 2)):
        p = rect(rect(rect(canvas(), a, 0, 0, 3, 10), b, 7, 0, 3, 10), b, 10, 0, 2, 10)
        # True side: 60/130. Pred side: Pa 30/80 * 60/130 + Pb 50/80 * 60/150.
        expect = 0.5 * (60 / 130 + 30 / 80 * 60 / 130 + 50 / 80 * 60 / 150)
        assert M.object_dice(t, p) == pytest.approx(expect)


def test_empty_images_follow_stardist_convention():
    empty = canvas()
    one = rect(canvas(), 4, 1, 1, 3, 3)
    both = M.average_precision(empty, empty)
    assert both.tp.sum() == both.fp.sum() == both.fn.sum() == 0
    for field in ("ap", "precision", "recall", "f1"):
        np.testing.assert_array_equal(getattr(both, field), 0.0)
    pq = M.panoptic_quality(empty, empty)
    assert (pq.pq, pq.dq, pq.sq) == (0.0, 0.0, 0.0)
    assert M.aji(empty, empty) == M.aji_plus(empty, empty) == 0.0
    assert M.dice(empty, empty) == M.object_dice(empty, empty) == 0.0

    no_pred = M.average_precision(one, empty)
    np.testing.assert_array_equal(no_pred.fn, 1)
    np.testing.assert_array_equal(no_pred.fp, 0)
    np.testing.assert_array_equal(no_pred.ap, 0.0)
    no_true = M.average_precision(empty, one)
    np.testing.assert_array_equal(no_true.fp, 1)
    assert M.aji(one, empty) == 0.0 and M.aji(empty, one) == 0.0
    assert M.panoptic_quality(empty, one).fp == 1
    assert M.iou_matrix(empty, one).iou.shape == (0, 1)


def test_identical_images_score_one():
    t = rect(rect(canvas(), 3, 0, 0, 5, 5), 11, 10, 10, 4, 7)
    s = all_scores(t, t.copy())
    assert all(v == pytest.approx(1.0) for k, v in s.items() if not k.startswith(("tp", "iou")))


def test_lower_thresholds_use_maximum_cardinality_matching():
    # T1 = rows 0-9 x cols 0-9, T2 = rows 0-9 x cols 10-19 (100 px each);
    # P1 = rows 0-9 x cols 3-12 (100 px), P2 = rows 0-9 x cols 0-2 (30 px).
    # T1 & P1 = 70 px, T1 & P2 = 30 px, T2 & P1 = 30 px. At a low threshold, greedy-by-IoU or a
    # maximum-IoU-sum matching keeps only (T1, P1); the most pairs are (T1, P2) and (T2, P1).
    t = rect(rect(canvas(), 1, 0, 0, 10, 10), 2, 0, 10, 10, 10)
    p = rect(rect(canvas(), 1, 0, 3, 10, 10), 2, 0, 0, 10, 3)
    # IoU(T1, P1) = 70 / 130 = 0.538, IoU(T1, P2) = 30 / 100 = 0.3, IoU(T2, P1) = 30 / 170.
    iou = M.iou_matrix(t, p).iou
    np.testing.assert_allclose(iou, [[70 / 130, 0.3], [30 / 170, 0]])
    ap = M.average_precision(t, p, thresholds=[0.15, 0.25, 0.5])
    # 0.15: (T1, P2) + (T2, P1) = 2 pairs beats (T1, P1) alone. 0.25: only T1 has candidates
    # (P1, P2) -> 1 pair, the larger IoU. 0.5: (T1, P1).
    np.testing.assert_array_equal(ap.tp, [2, 1, 1])
    np.testing.assert_allclose(ap.iou_sum, [0.3 + 30 / 170, 70 / 130, 70 / 130])


# --------------------------------------------------------------------------------------------
# Multi-class PQ (CoNIC)
# --------------------------------------------------------------------------------------------


def conic_images():
    """Two images with classes. Image A (dict specs):
         T1 class 1 = P1 class 1 exactly (IoU 1);
         T2 class 2 vs P2 class 1, P2 = 8 of T2's 10 rows (IoU 0.8) -> wrong class;
         P3 class 2 touches nothing.
       Image B (true: class map; pred: 1-D lookup table):
         T1 class 2 vs P5 class 2, 6 of 10 rows (IoU 0.6); T2 class 1 missed.
    """
    ta = rect(rect(canvas(), 1, 0, 0, 10, 10), 2, 20, 0, 10, 10)
    pa = rect(rect(rect(canvas(), 1, 0, 0, 10, 10), 2, 20, 0, 8, 10), 3, 30, 30, 5, 5)
    a = (ta, pa, {1: 1, 2: 2}, {1: 1, 2: 1, 3: 2})
    tb = rect(rect(canvas(), 1, 0, 0, 10, 10), 2, 20, 20, 5, 5)
    pb = rect(canvas(), 5, 0, 0, 6, 10)
    tb_classes = np.where(tb == 1, 2, np.where(tb == 2, 1, 0))
    pb_lut = np.array([0, 0, 0, 0, 0, 2])
    b = (tb, pb, tb_classes, pb_lut)
    return a, b


def test_conic_multiclass_pooled():
    # Pooled over both images:
    # class 1: TP (A: T1-P1, IoU 1); FP (A: P2, its only overlap is class 2); FN (B: T2)
    #   -> TP 1, FP 1, FN 1, IoU sum 1: DQ = 1 / 2, SQ = 1, PQ = 0.5
    # class 2: FN (A: T2), FP (A: P3), TP (B: T1-P5, IoU 0.6)
    #   -> TP 1, FP 1, FN 1, IoU sum 0.6: PQ = 0.5 * 0.6 = 0.3
    # mPQ+ = (0.5 + 0.3) / 2 = 0.4
    acc = M.DatasetMetrics()
    for t, p, tc, pc in conic_images():
        acc.add(t, p, tc, pc)
    mc = acc.result().multiclass
    np.testing.assert_array_equal(mc.classes, [1, 2])
    np.testing.assert_array_equal(mc.tp, [1, 1])
    np.testing.assert_array_equal(mc.fp, [1, 1])
    np.testing.assert_array_equal(mc.fn, [1, 1])
    np.testing.assert_allclose(mc.pq, [0.5, 0.3])
    assert mc.mpq == pytest.approx(0.4)

    # CoNIC averages over a fixed class list: an absent class scores 0 and still counts.
    acc3 = M.DatasetMetrics(classes=[1, 2, 3])
    for t, p, tc, pc in conic_images():
        acc3.add(t, p, tc, pc)
    mc3 = acc3.result().multiclass
    np.testing.assert_allclose(mc3.pq, [0.5, 0.3, 0.0])
    assert mc3.mpq == pytest.approx(0.8 / 3)


def test_conic_multiclass_per_image():
    (ta, pa, tca, pca), (tb, pb, tcb, pcb) = conic_images()
    # Image A: class 1: TP 1 (IoU 1), FP 1 (P2), FN 0 -> DQ = 1 / 1.5, PQ = 2/3.
    #          class 2: TP 0, FP 1 (P3), FN 1 (T2) -> 0.
    a = M.multiclass_pq(ta, pa, tca, pca)
    np.testing.assert_array_equal(a.tp, [1, 0])
    np.testing.assert_array_equal(a.fp, [1, 1])
    np.testing.assert_array_equal(a.fn, [0, 1])
    np.testing.assert_allclose(a.pq, [2 / 3, 0])
    assert a.mpq == pytest.approx(1 / 3)
    # Image B: class 1: FN 1 -> 0; class 2: TP 1, IoU 0.6 -> 0.6.
    b = M.multiclass_pq(tb, pb, tcb, pcb)
    np.testing.assert_allclose(b.pq, [0, 0.6])
    # Restricting the classes drops the other instances entirely.
    only2 = M.multiclass_pq(tb, pb, tcb, pcb, classes=[2])
    np.testing.assert_array_equal(only2.classes, [2])
    assert only2.mpq == pytest.approx(0.6)


def test_multiclass_with_empty_images():
    empty = canvas((5, 5), np.uint8)
    r = M.multiclass_pq(empty, empty, np.zeros((5, 5), np.int8), np.zeros(1, np.int64))
    assert r.classes.size == 0 and r.mpq == 0.0
    r = M.multiclass_pq(empty, empty, {}, {}, classes=[1, 2])
    np.testing.assert_array_equal(r.tp, [0, 0])
    np.testing.assert_array_equal(r.pq, [0.0, 0.0])
    assert r.iou_sum.dtype == np.float64
    acc = M.DatasetMetrics(classes=[1, 2])
    acc.add(empty, empty, {}, {})
    res = acc.result()
    assert res.multiclass.mpq == 0.0 and res.n_images_nonempty == 0 and res.aji_mean == 0.0


def test_class_map_majority_vote():
    # Instance 1 is mostly class 3 with a few pixels of class 5; ties go to the smaller class.
    t = rect(canvas(), 1, 0, 0, 4, 4)
    cmap = np.where(t == 1, 3, 0)
    cmap[0, :3] = 5  # 3 of 16 pixels
    t = rect(t, 2, 10, 10, 2, 2)
    cmap[10:12, 10] = 7
    cmap[10:12, 11] = 6  # 2 vs 2 -> class 6
    r = M.multiclass_pq(t, t, cmap, {1: 3, 2: 6})
    np.testing.assert_array_equal(r.classes, [3, 6])
    np.testing.assert_array_equal(r.tp, [1, 1])


# --------------------------------------------------------------------------------------------
# Dataset accumulator
# --------------------------------------------------------------------------------------------


def test_dataset_pooled_and_mean():
    # Image 1: the shifted squares (IoU 2/3; C = 80, U = 120).
    # Image 2: square + FP (C = 100, U = 125). Image 3: empty on both sides.
    t1 = rect(canvas(), 5, 5, 5, 10, 10)
    p1 = rect(canvas(), 17, 5, 7, 10, 10)
    t2 = rect(canvas(), 1, 2, 2, 10, 10)
    p2 = rect(t2.copy(), 2, 20, 20, 5, 5)
    acc = M.DatasetMetrics(thresholds=[0.5, 0.7])
    for t, p in ((t1, p1), (t2, p2), (canvas(), canvas())):
        acc.add(t, p)
    r = acc.result()
    assert (r.n_images, r.n_images_nonempty) == (3, 2)
    # AP pooled: 0.5 -> TP 2, FP 1, FN 0 -> 2/3; 0.7 -> TP 1 (image 2), FP 2, FN 1 -> 1/4.
    np.testing.assert_array_equal(r.ap.tp, [2, 1])
    np.testing.assert_array_equal(r.ap.fp, [1, 2])
    np.testing.assert_array_equal(r.ap.fn, [0, 1])
    np.testing.assert_allclose(r.ap.ap, [2 / 3, 1 / 4])
    # AP mean over the two non-empty images: 0.5 -> (1 + 1/2) / 2; 0.7 -> (0 + 1/2) / 2.
    np.testing.assert_allclose(r.ap_mean, [3 / 4, 1 / 4])
    # PQ pooled: TP 2, FP 1, FN 0, IoU sum 2/3 + 1 -> SQ = 5/6, DQ = 2 / 2.5 = 0.8.
    assert r.pq.sq == pytest.approx(5 / 6) and r.pq.dq == pytest.approx(0.8)
    assert r.pq.pq == pytest.approx(2 / 3)
    assert r.pq_mean == pytest.approx((2 / 3 + 2 / 3) / 2)
    # AJI pooled (80 + 100) / (120 + 125); mean of 80/120 and 100/125.
    assert r.aji == pytest.approx(180 / 245)
    assert r.aji_mean == pytest.approx((80 / 120 + 100 / 125) / 2)
    assert r.aji_plus == pytest.approx(180 / 245)
    # Dice pooled: 2 * (80 + 100) / (200 + 225).
    assert r.dice == pytest.approx(360 / 425)
    assert r.dice_mean == pytest.approx((0.8 + 200 / 225) / 2)
    assert r.multiclass is None


def test_dataset_of_one_image_equals_per_image():
    t, p = random_pair(np.random.default_rng(3))
    acc = M.DatasetMetrics()
    acc.add(t, p)
    r = acc.result()
    ap = M.average_precision(t, p)
    for field in ("ap", "tp", "fp", "fn", "precision", "recall", "f1", "iou_sum"):
        np.testing.assert_allclose(getattr(r.ap, field), getattr(ap, field))
    np.testing.assert_allclose(r.ap_mean, ap.ap)
    assert r.pq == M.panoptic_quality(t, p)
    assert r.aji == r.aji_mean == pytest.approx(M.aji(t, p))
    assert r.aji_plus == pytest.approx(M.aji_plus(t, p))
    assert r.dice == pytest.approx(M.dice(t, p))


def test_dataset_rejects_inconsistent_classes_without_changing_state():
    (ta, pa, tca, pca), _ = conic_images()
    acc = M.DatasetMetrics()
    acc.add(ta, pa, tca, pca)
    before = acc.result()
    with pytest.raises(ValueError, match=r"DatasetMetrics.add: earlier images were added with"):
        acc.add(ta, pa)
    with pytest.raises(ValueError, match=r"DatasetMetrics.add: pred_classes is required"):
        acc.add(ta, pa, tca, None)
    with pytest.raises(ValueError, match=r"true_classes must give a class for every instance"):
        acc.add(ta, pa, {1: 1}, pca)
    assert acc.n_images == 1
    np.testing.assert_array_equal(acc.result().multiclass.tp, before.multiclass.tp)


# --------------------------------------------------------------------------------------------
# Brute-force cross-checks on small random label images
# --------------------------------------------------------------------------------------------


def random_labels(rng, shape=(24, 24), n=8, ids=None):
    """Overlapping random rectangles painted in order (later ones cover earlier ones)."""
    img = np.zeros(shape, dtype=np.int64)
    ids = rng.choice(np.arange(1, 1000), size=n, replace=False) if ids is None else ids
    for label in ids:
        h, w = rng.integers(3, 10, size=2)
        r, c = rng.integers(0, shape[0] - h), rng.integers(0, shape[1] - w)
        img[r : r + h, c : c + w] = label
    return img


def random_pair(rng):
    t = random_labels(rng)
    # Prediction: the truth jittered by up to 2 px, with some objects dropped and some added.
    p = np.zeros_like(t)
    for label in np.unique(t[t > 0]):
        if rng.random() < 0.15:
            continue
        rr, cc = np.nonzero(t == label)
        dr, dc = rng.integers(-2, 3, size=2)
        rr, cc = np.clip(rr + dr, 0, t.shape[0] - 1), np.clip(cc + dc, 0, t.shape[1] - 1)
        p[rr, cc] = rng.integers(1000, 5000)
    extra = random_labels(rng, n=2, ids=rng.integers(5000, 6000, size=2))
    p[extra > 0] = extra[extra > 0]
    return t, p


def masks(img):
    ids = np.unique(img[img > 0])
    return ids, [img == i for i in ids]


def brute_iou(t, p):
    t_ids, tm = masks(t)
    p_ids, pm = masks(p)
    iou = np.zeros((len(t_ids), len(p_ids)))
    for (i, a), (j, b) in product(enumerate(tm), enumerate(pm)):
        iou[i, j] = (a & b).sum() / (a | b).sum()
    return iou, t_ids, p_ids, tm, pm


def brute_aji(t, p):
    # Kumar et al.: each true object takes its best-IoU prediction (first max, i.e. smallest id).
    _, _, _, tm, pm = brute_iou(t, p)
    c = u = 0
    used = set()
    for g in tm:
        scores = [(g & s).sum() / (g | s).sum() for s in pm]
        if not scores or max(scores) == 0:
            u += g.sum()
            continue
        j = int(np.argmax(scores))
        c += (g & pm[j]).sum()
        u += (g | pm[j]).sum()
        used.add(j)
    u += sum(s.sum() for j, s in enumerate(pm) if j not in used)
    return c / u if u else 0.0


def brute_aji_plus(t, p):
    # HoVer-Net's AJI+: Hungarian pairing on the full IoU table, pairs with IoU > 0 kept.
    iou, _, _, tm, pm = brute_iou(t, p)
    rows, cols = linear_sum_assignment(-iou) if iou.size else ([], [])
    pairs = [(i, j) for i, j in zip(rows, cols) if iou[i, j] > 0]
    c = sum((tm[i] & pm[j]).sum() for i, j in pairs)
    u = sum((tm[i] | pm[j]).sum() for i, j in pairs)
    u += sum(m.sum() for i, m in enumerate(tm) if i not in {i for i, _ in pairs})
    u += sum(m.sum() for j, m in enumerate(pm) if j not in {j for _, j in pairs})
    return c / u if u else 0.0


def brute_best_matching(iou, thr):
    """Lexicographic maximum (number of pairs, IoU sum) over all one-to-one matchings with
    IoU >= thr, by exhaustive search over the true instances."""
    n_t, n_p = iou.shape
    best = (0, 0.0)

    def search(i, used, count, total):
        nonlocal best
        if i == n_t:
            if (count, total) > (best[0], best[1] + 1e-12):
                best = (count, total)
            return
        search(i + 1, used, count, total)
        for j in range(n_p):
            if j not in used and iou[i, j] >= thr:
                search(i + 1, used | {j}, count + 1, total + iou[i, j])

    search(0, frozenset(), 0, 0.0)
    return best


def brute_object_dice(t, p):
    _, tm = masks(t)
    _, pm = masks(p)

    def side(objs, others):
        total = sum(o.sum() for o in objs)
        acc = 0.0
        for o in objs:
            # Partner: most shared pixels; among those, the best Dice.
            cands = [((o & s).sum(), 2 * (o & s).sum() / (o.sum() + s.sum())) for s in others]
            if cands and max(cands)[0] > 0:
                acc += o.sum() / total * max(cands)[1]
        return acc if total else 0.0

    return 0.5 * (side(tm, pm) + side(pm, tm))


@pytest.mark.parametrize("seed", range(12))
def test_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    t, p = random_pair(rng)
    iou, t_ids, p_ids, _, _ = brute_iou(t, p)
    got = M.iou_matrix(t, p)
    np.testing.assert_array_equal(got.true_ids, t_ids)
    np.testing.assert_array_equal(got.pred_ids, p_ids)
    np.testing.assert_allclose(got.iou, iou, rtol=1e-15, atol=0)

    assert M.aji(t, p) == pytest.approx(brute_aji(t, p), rel=1e-12)
    assert M.aji_plus(t, p) == pytest.approx(brute_aji_plus(t, p), rel=1e-12)
    assert M.object_dice(t, p) == pytest.approx(brute_object_dice(t, p), rel=1e-12)
    assert M.dice(t, p) == pytest.approx(
        2 * ((t > 0) & (p > 0)).sum() / ((t > 0).sum() + (p > 0).sum()), rel=1e-12
    )

    thresholds = [0.1, 0.3, 0.5, 0.75]
    ap = M.average_precision(t, p, thresholds=thresholds)
    for k, thr in enumerate(thresholds):
        count, total = brute_best_matching(iou, thr)
        assert ap.tp[k] == count, thr
        assert ap.iou_sum[k] == pytest.approx(total, rel=1e-12), thr
    pq = M.panoptic_quality(t, p)
    assert pq.tp == int((iou > 0.5).sum())
    assert pq.iou_sum == pytest.approx(iou[iou > 0.5].sum(), rel=1e-12)


def test_some_random_cases_need_an_assignment():
    # Guard for the test above: the random pairs must include conflicting low-IoU candidates,
    # otherwise the assignment path would go untested.
    conflicts = 0
    for seed in range(12):
        iou = brute_iou(*random_pair(np.random.default_rng(seed)))[0]
        ok = iou >= 0.1
        conflicts += int((ok.sum(axis=0) > 1).any() or (ok.sum(axis=1) > 1).any())
    assert conflicts >= 3


def tiled_tissue(rng, n=8, size=8, jitter=2):
    """Touching square nuclei on a grid and a jittered copy: one overlap component spans it."""
    shape = (n * size, n * size)
    t, p = np.zeros(shape, np.int32), np.zeros(shape, np.int32)
    for k, (r, c) in enumerate(product(range(0, shape[0], size), repeat=2), start=1):
        t[r : r + size, c : c + size] = k
        dr, dc = rng.integers(-jitter, jitter + 1, size=2)
        p[max(r + dr, 0) : r + size + dr, max(c + dc, 0) : c + size + dc] = k
    return t, p


def test_sparse_assignment_matches_dense_optimum_on_one_big_component():
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import maximum_bipartite_matching

    from cellrt.metrics._assignment import max_weight_matching
    from cellrt.metrics._overlap import compute_overlap

    t, p = tiled_tissue(np.random.default_rng(11))
    ov = compute_overlap(t, p)
    dense = M.iou_matrix(t, p).iou
    # AJI+'s pairing: the IoU sum must equal the dense Hungarian optimum (pairs may differ
    # between equally good matchings).
    chosen = max_weight_matching(ov.rows, ov.cols, ov.iou)
    rows, cols = linear_sum_assignment(dense, maximize=True)
    assert ov.iou[chosen].sum() == pytest.approx(dense[rows, cols].sum(), rel=1e-12)
    assert np.unique(ov.rows[chosen]).size == np.unique(ov.cols[chosen]).size == chosen.sum()
    # AP at a low threshold: as many pairs as a maximum bipartite matching has.
    for thr in (0.05, 0.2, 0.4):
        graph = csr_array((dense >= thr).astype(np.int8))
        size = int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())
        assert M.average_precision(t, p, thresholds=thr).tp[0] == size


def test_huge_label_ids_take_the_sorting_path():
    rng = np.random.default_rng(7)
    t, p = random_pair(rng)
    big = np.uint64(2**50)
    tb = np.where(t > 0, t.astype(np.uint64) + big, 0).astype(np.uint64)
    assert all_scores(tb, p) == pytest.approx(all_scores(t, p))
    np.testing.assert_array_equal(M.iou_matrix(tb, p).true_ids, np.unique(t[t > 0]) + big)


# --------------------------------------------------------------------------------------------
# Invariances and input handling
# --------------------------------------------------------------------------------------------


def relabel(img, rng, dtype=np.int64):
    ids = np.unique(img[img > 0])
    new = rng.choice(np.arange(1, 30000), size=ids.size, replace=False)
    lut = np.zeros(img.max() + 1, dtype=np.int64)
    lut[ids] = new
    return lut[img].astype(dtype)


@pytest.mark.parametrize("seed", range(4))
def test_invariant_to_label_permutation_and_dtype(seed):
    rng = np.random.default_rng(100 + seed)
    t, p = random_pair(rng)
    ref = all_scores(t, p, thresholds=[0.1, 0.3, 0.5, 0.7])
    t2, p2 = relabel(t, rng, np.uint16), relabel(p, rng, np.int32)
    assert all_scores(t2, p2, thresholds=[0.1, 0.3, 0.5, 0.7]) == pytest.approx(ref)


def test_non_contiguous_inputs_and_no_mutation():
    t, p = random_pair(np.random.default_rng(5))
    t_copy, p_copy = t.copy(), p.copy()
    ref = all_scores(t.T.copy(), p.T.copy())
    assert all_scores(t.T, p.T) == pytest.approx(ref)  # transposed views
    # Transposing both images changes no overlap.
    assert all_scores(t, p) == pytest.approx(ref)
    np.testing.assert_array_equal(t, t_copy)
    np.testing.assert_array_equal(p, p_copy)


def test_import_loads_no_compiled_module_torch_or_scipy():
    code = (
        "import sys, cellrt\n"
        "before = set(sys.modules)\n"
        "import cellrt.metrics\n"
        "new = set(sys.modules) - before\n"
        "banned = ('cellrt._', 'cellrt.ops', 'torch', 'scipy')\n"
        "bad = sorted(m for m in new if m.startswith(banned))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------------------------
# Error paths
# --------------------------------------------------------------------------------------------

PUBLIC = [
    M.average_precision,
    M.panoptic_quality,
    M.aji,
    M.aji_plus,
    M.dice,
    M.object_dice,
    M.iou_matrix,
]


@pytest.mark.parametrize("fn", PUBLIC, ids=lambda f: f.__name__)
def test_label_errors_name_the_function_and_argument(fn):
    name = fn.__name__
    good = canvas((8, 8))
    msg = rf"{name}: pred must have the same shape as true \(8, 8\), got \(8, 9\)"
    with pytest.raises(ValueError, match=msg):
        fn(good, canvas((8, 9)))
    with pytest.raises(TypeError, match=rf"{name}: true must be an integer label image.*float32"):
        fn(good.astype(np.float32), good)
    with pytest.raises(TypeError, match=rf"{name}: pred must be an integer label image.*bool"):
        fn(good, good.astype(bool))
    neg = good.copy()
    neg[0, 0] = -3
    with pytest.raises(ValueError, match=rf"{name}: pred has negative labels \(min -3\)"):
        fn(good, neg)
    msg = rf"{name}: true must be a 2-D label image, got shape \(2, 8, 8\)"
    with pytest.raises(ValueError, match=msg):
        fn(np.zeros((2, 8, 8), np.int32), good)


def test_threshold_errors():
    g = canvas((4, 4))
    for bad in (0.0, 1.5, [0.5, -0.1], float("nan")):
        with pytest.raises(ValueError, match=r"average_precision: thresholds must lie in \(0, 1\]"):
            M.average_precision(g, g, thresholds=bad)
    with pytest.raises(ValueError, match=r"average_precision: thresholds must be a non-empty 1-D"):
        M.average_precision(g, g, thresholds=[])
    with pytest.raises(TypeError, match=r"average_precision: thresholds must be a number"):
        M.average_precision(g, g, thresholds="high")
    with pytest.raises(ValueError, match=r"DatasetMetrics: thresholds must lie in"):
        M.DatasetMetrics(thresholds=2)


def test_class_spec_errors():
    t = rect(canvas((10, 10)), 4, 0, 0, 3, 3)
    msg = r"multiclass_pq: true_classes must give a class for every instance; missing ids 4"
    with pytest.raises(ValueError, match=msg):
        M.multiclass_pq(t, t, {1: 1}, {4: 1})
    msg = r"pred_classes as a 1-D lookup table must have length > max instance id \(4\), got length"
    with pytest.raises(ValueError, match=msg):
        M.multiclass_pq(t, t, {4: 1}, np.array([0, 1, 1]))
    msg = r"true_classes as a class map must have the label image's shape \(10, 10\), got \(5, 5\)"
    with pytest.raises(ValueError, match=msg):
        M.multiclass_pq(t, t, np.zeros((5, 5), np.int32), {4: 1})
    with pytest.raises(TypeError, match=r"multiclass_pq: pred_classes must be a dict"):
        M.multiclass_pq(t, t, {4: 1}, np.zeros((10, 10), np.float32))
    with pytest.raises(TypeError, match=r"multiclass_pq: classes must be None or a sequence"):
        M.multiclass_pq(t, t, {4: 1}, {4: 1}, classes=[1.5])
