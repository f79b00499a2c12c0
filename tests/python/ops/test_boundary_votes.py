"""boundary_votes: hand-checked centres of labelled shapes, parity with the reference (NaN, inf,
huge and negative distances, rounding halves, masks), the GPU's atomic element emulated in
shuffled and reversed order, dtypes, empty input, errors."""

from __future__ import annotations

import numpy as np
import pytest

import cellrt.ops as ops
from cellrt import _backend, _core
from cellrt.reference.boundary_votes_ref import boundary_votes_ref
from cellrt.train.targets import boundary_distances


def test_every_pixel_of_an_odd_rectangle_votes_for_its_centre():
    lab = np.zeros((11, 13), np.int32)
    lab[2:7, 3:10] = 1  # 5 x 7 px, centre (4, 6)
    d = boundary_distances(lab)
    votes = ops.boundary_votes(d, lab > 0)
    want = np.zeros_like(votes)
    want[4, 6] = 35
    np.testing.assert_array_equal(votes, want)


def test_even_sides_round_halves_up_and_touching_nuclei_keep_separate_peaks():
    lab = np.zeros((8, 12), np.int32)
    lab[1:5, 1:5] = 1  # 4 x 4: midpoint (2.5, 2.5) -> (3, 3)
    lab[1:5, 5:9] = 2  # touches nucleus 1; midpoint (2.5, 6.5) -> (3, 7)
    votes = ops.boundary_votes(boundary_distances(lab), lab > 0)
    assert votes[3, 3] == 16 and votes[3, 7] == 16 and votes.sum() == 32


def test_discs_votes_stay_inside_their_own_nucleus():
    yy, xx = np.mgrid[:64, :64]
    lab = np.zeros((64, 64), np.int32)
    for k, (y, x, r) in enumerate([(20, 20, 9), (20, 37, 8), (45, 30, 12)], start=1):
        lab[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = k
    votes = ops.boundary_votes(boundary_distances(lab), lab > 0)
    for k in (1, 2, 3):
        area = int((lab == k).sum())
        assert int(votes[lab == k].sum()) == area  # nobody votes into a neighbour
        # and the votes pile up: most of them within 2 px of the peak
        peak = np.unravel_index(np.argmax(np.where(lab == k, votes, 0)), lab.shape)
        near = (np.abs(yy - peak[0]) <= 2) & (np.abs(xx - peak[1]) <= 2)
        assert votes[near].sum() > 0.8 * area


def _hard_maps(rng, h=23, w=31):
    d = rng.uniform(-3, 40, (4, h, w)).astype(np.float32)
    whole = rng.random((h, w)) < 0.5
    d[:, whole] = np.round(d[:, whole])  # integer distances: many midpoints fall on exact halves
    d[0, 0, 0] = np.nan
    d[1, 3, 4] = np.inf
    d[2, 5, 6] = -np.inf
    d[3, 7, 8] = 3e38
    d[:, 9, 10] = np.inf  # inf - inf: no vote
    d[0, 11, 12], d[1, 11, 12] = 0.0, 1.0  # exact half to the right
    d[0, 12, 12], d[1, 12, 12] = 1.0, 0.0  # exact half to the left: rounds up, to x = 12
    return d


@pytest.mark.parametrize("with_mask", [False, True])
def test_matches_reference(with_mask):
    rng = np.random.default_rng(0)
    d = _hard_maps(rng)
    mask = rng.random(d.shape[1:]) < 0.6 if with_mask else None
    before = d.copy()
    got = ops.boundary_votes(d, mask)
    np.testing.assert_array_equal(got, boundary_votes_ref(d, mask))
    np.testing.assert_array_equal(d, before)  # input untouched
    assert got.dtype == np.int32
    # Every voter votes once, except where a midpoint is NaN (a NaN distance, or inf - inf).
    with np.errstate(invalid="ignore"):
        no_vote = np.isnan(d[1] - d[0]) | np.isnan(d[3] - d[2])
    voters = np.ones(d.shape[1:], bool) if mask is None else mask
    assert got.sum() == int((voters & ~no_vote).sum())


@pytest.mark.parametrize("order", ["reversed", "shuffled"])
def test_device_element_in_any_order_gives_the_cpu_counts(order):
    rng = np.random.default_rng(1)
    d = _hard_maps(rng, 40, 37)
    mask = (rng.random(d.shape[1:]) < 0.7).astype(np.uint8)
    n = mask.size
    idx = np.arange(n)[::-1].copy() if order == "reversed" else rng.permutation(n)
    emu = _core.testing.boundary_votes_emulate(d, mask, idx.astype(np.int64))
    np.testing.assert_array_equal(emu, ops.boundary_votes(d, mask))


def test_dtypes_kinds_and_empty():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    d = rng.uniform(0, 9, (4, 6, 5))
    want = boundary_votes_ref(d.astype(np.float32))
    np.testing.assert_array_equal(ops.boundary_votes(d), want)  # float64 computed in float32
    t = ops.boundary_votes(torch.from_numpy(d.astype(np.float32)),
                           torch.ones(6, 5, dtype=torch.bool))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32
    np.testing.assert_array_equal(t.numpy(), want)
    assert ops.boundary_votes(np.zeros((4, 0, 5), np.float32)).shape == (0, 5)


def test_errors_name_the_op_and_argument():
    d = np.zeros((4, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"boundary_votes: dist must have shape \(4, H, W\), got \(3, 3, 3\)"):
        ops.boundary_votes(np.zeros((3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"boundary_votes: dist must be 3-D"):
        ops.boundary_votes(np.zeros((3, 3), np.float32))
    with pytest.raises(TypeError, match=r"boundary_votes: dist must have dtype"):
        ops.boundary_votes(d.astype(np.int32))
    with pytest.raises(ValueError, match=r"boundary_votes: mask must have shape \(3, 3\), got \(2, 3\)"):
        ops.boundary_votes(d, np.ones((2, 3), bool))
    with pytest.raises(TypeError, match=r"boundary_votes: mask must have dtype"):
        ops.boundary_votes(d, np.ones((3, 3), np.float32))
    with pytest.raises(ValueError, match=r"order must be a permutation"):
        _core.testing.boundary_votes_emulate(d, None, np.zeros(9, np.int64))


@pytest.mark.skipif(_backend.HAS_CUDA, reason="checks the message given when CUDA is unusable")
def test_cuda_backend_unavailable_says_why():
    with pytest.raises(RuntimeError, match=r"boundary_votes: backend 'cuda' is not available"):
        ops.boundary_votes(np.zeros((4, 2, 2), np.float32), backend="cuda")


@pytest.mark.cuda
def test_cuda_equals_cpu():
    import torch

    rng = np.random.default_rng(3)
    d = _hard_maps(rng, 300, 200)
    mask = rng.random(d.shape[1:]) < 0.5
    got = ops.boundary_votes(torch.from_numpy(d).cuda(), torch.from_numpy(mask).cuda())
    np.testing.assert_array_equal(got.cpu().numpy(), ops.boundary_votes(d, mask))
