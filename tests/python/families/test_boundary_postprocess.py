"""Boundary-regression post-processing on exact maps (the targets the network is trained on): every
marker rule recovers the instances; the h-maxima of a vote density agree with scikit-image's and
split joined clusters only at a deep enough dip; parameters are validated; configs written
before the marker rule existed keep their meaning."""

from __future__ import annotations

import numpy as np
import pytest

from cellrt.families.boundary.postprocess import (PostprocessParams, density_maxima, instances_from_maps,
                                         reconstruct_by_dilation)
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


@pytest.mark.parametrize("rule", ["votes", "vote_maxima", "centerness"])
def test_exact_maps_give_back_the_instances(rule):
    params = PostprocessParams(markers=rule, min_size=8)
    fg = (TRUTH > 0).astype(np.float32)
    labels, table = instances_from_maps(fg, boundary_distances(TRUTH), None, params)
    assert labels.max() == TRUTH.max() == len(table["id"])
    assert _matched(TRUTH, labels) == TRUTH.max()
    np.testing.assert_allclose(table["score"], 1.0)


def test_votes_mark_each_touching_nucleus_once_with_a_tolerant_threshold():
    # Even a low vote threshold (a generous marker) keeps one marker per nucleus: every pixel of
    # a nucleus votes into its own cluster, so the clusters of touching nuclei never join.
    params = PostprocessParams(markers="votes", vote_threshold=0.25, vote_sigma=1.0, min_size=8)
    labels, _ = instances_from_maps((TRUTH > 0).astype(np.float32), boundary_distances(TRUTH),
                                    None, params)
    assert _matched(TRUTH, labels) == TRUTH.max() == labels.max()


def _bumps(spec, shape=(64, 96)):
    """A density of Gaussian bumps (y, x, height, sigma)."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    d = np.zeros(shape)
    for y, x, height, s in spec:
        d += height * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * s * s))
    return d


def test_reconstruction_matches_scikit_image():
    skm = pytest.importorskip("skimage.morphology")
    rng = np.random.default_rng(0)
    limit = _bumps([(20, 20, 5, 6), (30, 60, 3, 9), (50, 30, 4, 4)]) + rng.random((64, 96))
    seed = np.maximum(limit - 1.5, 0)
    expected = skm.reconstruction(seed, limit, method="dilation", footprint=np.ones((3, 3)))
    np.testing.assert_allclose(reconstruct_by_dilation(seed, limit), expected, rtol=0, atol=1e-12)


def test_density_maxima_split_joined_clusters_at_a_deep_enough_dip():
    skm = pytest.importorskip("skimage.morphology")
    # Two bumps 12 px apart join far above the threshold; the lower one dips ~1.6 votes per
    # pixel before the higher. An isolated bump of height 0.8 is above the threshold but below
    # every h tried.
    density = _bumps([(30, 30, 5, 4), (30, 42, 4.8, 4), (30, 80, 0.8, 3)])
    mask = np.ones(density.shape, bool)
    saddle = density[30, 36]
    assert 1.0 < density[30, 42] - saddle < 2.0
    for h, n_peaks in [(1.0, 2), (2.0, 1)]:
        params = PostprocessParams(markers="vote_maxima", vote_threshold=0.5, vote_h=h)
        peaks = density_maxima(density, mask, params)
        assert peaks.sum() == n_peaks and peaks[30, 30]
        # Where some peak rises h above the background, scikit-image's global h-maxima agree.
        np.testing.assert_array_equal(peaks, skm.h_maxima(density, h).astype(bool)
                                      & (density > 0.5))
        # No peak outside the clusters (mask) or below the threshold.
        assert not density_maxima(density, np.zeros_like(mask), params).any()


def test_density_maxima_on_the_clusters_box_equals_the_whole_image():
    # Clusters touching the top and right edges and one in the middle: the result computed on
    # their bounding box must be the whole-image h-maxima, edges included.
    density = _bumps([(0, 95, 5, 4), (6, 88, 4.2, 3), (30, 50, 3, 3), (30, 57, 2.5, 3)])
    mask = density > 0.2
    for h in (0.5, 1.0, 2.0):
        params = PostprocessParams(markers="vote_maxima", vote_threshold=0.5, vote_h=h)
        clusters = (density > 0.5) & mask
        g = np.where(clusters, density, 0.0)
        rec = reconstruct_by_dilation(np.maximum(g - h, 0.0), g)
        whole = clusters & (g - rec >= h - 1e-9 * g.max())
        assert whole.any()
        np.testing.assert_array_equal(density_maxima(density, mask, params), whole)


def test_type_weights_correct_the_class_vote():
    # The type head leans slightly towards class 1 everywhere; weighting class 2 by 2 flips the
    # vote of every instance, weighting it by 1 (or None) keeps it.
    fg = (TRUTH > 0).astype(np.float32)
    type_prob = np.stack([np.full(TRUTH.shape, 0.55, np.float32),
                          np.full(TRUTH.shape, 0.45, np.float32)])
    for weights, expected in [(None, 1), ((1.0, 1.0), 1), ((1.0, 2.0), 2)]:
        params = PostprocessParams(markers="votes", min_size=8, type_weights=weights)
        _, table = instances_from_maps(fg, boundary_distances(TRUTH), type_prob, params)
        assert len(table["class"]) == TRUTH.max() and (np.asarray(table["class"]) == expected).all()
    with pytest.raises(ValueError, match=r"type_weights has 3 values, the type head 2 classes"):
        instances_from_maps(fg, boundary_distances(TRUTH), type_prob,
                            PostprocessParams(type_weights=[1, 1, 1]))
    for bad in ([1, -1], [], ["x"], [float("nan")]):
        with pytest.raises(ValueError, match="type_weights must be finite numbers > 0"):
            PostprocessParams(type_weights=bad)
    # A config written to JSON (a list) reads back as the same parameters.
    d = PostprocessParams(type_weights=(1.0, 2.0)).to_dict()
    d["type_weights"] = list(d["type_weights"])
    assert PostprocessParams.from_dict(d) == PostprocessParams(type_weights=(1.0, 2.0))


def test_parameters_are_validated_and_old_configs_mean_centerness():
    rules = r"\['centerness', 'votes', 'vote_maxima'\]"
    with pytest.raises(ValueError, match=rf"markers must be one of {rules}, got 'peaks'"):
        PostprocessParams(markers="peaks")
    with pytest.raises(ValueError, match=r"vote_sigma must be > 0, got 0"):
        PostprocessParams.from_dict({"markers": "votes", "vote_sigma": 0})
    with pytest.raises(ValueError, match=r"vote_h must be > 0, got -1"):
        PostprocessParams(markers="vote_maxima", vote_h=-1)
    with pytest.raises(ValueError, match=r"unknown parameters \['marker_rule'\]"):
        PostprocessParams.from_dict({"marker_rule": "votes"})
    old = {"fg_threshold": 0.6, "marker_threshold": 0.7, "min_marker_size": 3, "min_size": 32,
           "connectivity": 1}
    assert PostprocessParams.from_dict(old).markers == "centerness"
