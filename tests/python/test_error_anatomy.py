"""cellrt.metrics.error_anatomy on hand-built label pairs: each unmatched object gets the one
cause the definitions give (missed, merged, poor fit; spurious, split, poor fit)."""

import numpy as np
import pytest

from cellrt import metrics as M


def _canvas():
    return np.zeros((40, 60), np.int32)


def test_each_cause_by_hand():
    t, p = _canvas(), _canvas()
    # 1: matched exactly.
    t[1:9, 1:9] = 1
    p[1:9, 1:9] = 1
    # 2, 3: two touching true nuclei, one prediction over both -> 2 merged (IoU 0.5 each, not > 0.5).
    t[12:20, 1:9] = 2
    t[12:20, 9:17] = 3
    p[12:20, 1:17] = 2
    # 4: a true nucleus with no prediction -> missed.
    t[25:33, 1:9] = 4
    # 5: one true nucleus, two predictions on its halves -> 2 splits.
    t[1:9, 20:36] = 5
    p[1:9, 20:28] = 3
    p[1:9, 28:36] = 4
    # A prediction on background -> spurious.
    p[25:33, 20:28] = 5
    # 6: found but badly outlined (prediction shifted by half) -> one poor fit each side.
    t[12:20, 40:48] = 6
    p[12:20, 44:52] = 6
    e = M.error_anatomy(t, p)
    assert e == M.ErrorAnatomy(matched=1, true_missed=1, true_merged=2, true_split=1,
                               true_poor_fit=1, pred_spurious=1, pred_merge=1, pred_split=2,
                               pred_poor_fit=1)
    # The counts close: every true and every predicted object has exactly one fate.
    assert e.matched + e.true_missed + e.true_merged + e.true_split + e.true_poor_fit == 6
    assert e.matched + e.pred_spurious + e.pred_merge + e.pred_split + e.pred_poor_fit == 6


def test_perfect_and_empty():
    t = _canvas()
    t[5:15, 5:15] = 7
    assert M.error_anatomy(t, t) == M.ErrorAnatomy(matched=1)
    assert M.error_anatomy(t, np.zeros_like(t)) == M.ErrorAnatomy(true_missed=1)
    assert M.error_anatomy(np.zeros_like(t), t) == M.ErrorAnatomy(pred_spurious=1)
    assert M.error_anatomy(np.zeros_like(t), np.zeros_like(t)) == M.ErrorAnatomy()


def test_a_merge_with_a_matched_neighbour_counts_the_other_as_merged():
    # One prediction matches a big nucleus (IoU > 0.5) and also swallows a small one.
    t, p = _canvas(), _canvas()
    t[0:20, 0:20] = 1
    t[0:6, 20:26] = 2
    p[0:20, 0:26] = 1
    e = M.error_anatomy(t, p)
    assert e == M.ErrorAnatomy(matched=1, true_merged=1)


def test_dataset_pools_and_cover_is_checked():
    t, p = _canvas(), _canvas()
    t[1:9, 1:9] = 1
    acc = M.DatasetMetrics()
    acc.add(t, p)
    acc.add(t, t)
    assert acc.result().errors == M.ErrorAnatomy(matched=1, true_missed=1)
    with pytest.raises(ValueError, match=r"cover must be in \(0, 0.5\], got 0.7"):
        M.error_anatomy(t, p, cover=0.7)
    with pytest.raises(TypeError, match="cover must be a number"):
        M.DatasetMetrics(cover="half")
