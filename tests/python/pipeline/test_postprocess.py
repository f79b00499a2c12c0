"""Boundary-regression post-processing on exact maps (the targets the network is trained on):
both marker rules recover the instances; parameters are validated; configs written before the
marker rule existed keep their meaning."""

from __future__ import annotations

import numpy as np
import pytest

from cellrt.pipeline.postprocess import PostprocessParams, instances_from_maps
from cellrt.train.targets import boundary_distances


def _discs(h, w, spec):
    yy, xx = np.mgrid[:h, :w]
    lab = np.zeros((h, w), np.int32)
    for k, (y, x, r) in enumerate(spec, start=1):
        lab[((yy - y) ** 2 + (xx - x) ** 2 <= r * r) & (lab == 0)] = k
    return lab


def _matched(truth, pred, iou=0.8):
    """Number of true instances with a predicted instance of IoU > iou."""
    n = 0
    for k in range(1, truth.max() + 1):
        t = truth == k
        ids, counts = np.unique(pred[t], return_counts=True)
        counts, ids = counts[ids > 0], ids[ids > 0]
        if len(ids):
            p = pred == ids[np.argmax(counts)]
            n += (t & p).sum() / (t | p).sum() > iou
    return n


# A clump of touching nuclei of unequal sizes, an isolated one and a small one.
TRUTH = _discs(96, 128, [(30, 30, 12), (30, 52, 10), (48, 40, 9), (70, 95, 14), (15, 100, 5)])


@pytest.mark.parametrize("rule", ["votes", "centerness"])
def test_exact_maps_give_back_the_instances(rule):
    params = PostprocessParams(markers=rule, min_size=8)
    fg = (TRUTH > 0).astype(np.float32)
    labels, table = instances_from_maps(fg, boundary_distances(TRUTH), None, params)
    assert labels.max() == TRUTH.max() == len(table["label"])
    assert _matched(TRUTH, labels) == TRUTH.max()
    np.testing.assert_allclose(table["score"], 1.0)


def test_votes_mark_each_touching_nucleus_once_with_a_tolerant_threshold():
    # Even a low vote threshold (a generous marker) keeps one marker per nucleus: every pixel of
    # a nucleus votes into its own cluster, so the clusters of touching nuclei never join.
    params = PostprocessParams(markers="votes", vote_threshold=0.25, vote_sigma=1.0, min_size=8)
    labels, _ = instances_from_maps((TRUTH > 0).astype(np.float32), boundary_distances(TRUTH),
                                    None, params)
    assert _matched(TRUTH, labels) == TRUTH.max() == labels.max()


def test_parameters_are_validated_and_old_configs_mean_centerness():
    with pytest.raises(ValueError, match=r"markers must be one of \['centerness', 'votes'\], got 'peaks'"):
        PostprocessParams(markers="peaks")
    with pytest.raises(ValueError, match=r"vote_sigma must be > 0, got 0"):
        PostprocessParams.from_dict({"markers": "votes", "vote_sigma": 0})
    with pytest.raises(ValueError, match=r"unknown parameters \['marker_rule'\]"):
        PostprocessParams.from_dict({"marker_rule": "votes"})
    old = {"fg_threshold": 0.6, "marker_threshold": 0.7, "min_marker_size": 3, "min_size": 32,
           "connectivity": 1}
    assert PostprocessParams.from_dict(old).markers == "centerness"
