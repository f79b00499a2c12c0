"""paste_masks: exact equality with the plain torch per-RoI implementation (grid_sample over the
whole image and over the box window, float64) and with the NumPy reference; the CUDA algorithm
(atomic max of packed score keys) emulated in forward, reversed, shuffled and racing order;
boundary cases and errors."""

from __future__ import annotations

import numpy as np
import pytest

from cellrt import _core
from cellrt.ops import paste_masks
from cellrt.reference.paste_masks_ref import paste_masks_ref
from tools.bench.bench_paste_masks import make_nuclei, torch_paste_masks
from tests.python.ops._threads import num_threads

torch = pytest.importorskip("torch")


def random_rois(num=40, image=(60, 80), mask=(7, 9), seed=0, integer_scores=True):
    """Boxes of 1-40 px anywhere, many crossing the border; uniform masks; scores with ties."""
    rng = np.random.default_rng(seed)
    h, w = image
    xy = rng.uniform(-15, max(h, w), size=(num, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(1, 40, size=(num, 2))], axis=1)
    masks = rng.uniform(size=(num, *mask)).astype(np.float32)
    scores = (rng.integers(0, 4, size=num) if integer_scores
              else rng.uniform(size=num)).astype(np.float32)
    return masks, boxes, scores


def check_all(masks, boxes, scores, shape, threshold=0.5, torch_peers=True):
    """Ours equals the reference, both torch peers, and the emulated CUDA algorithm."""
    ours = paste_masks(masks, boxes, scores, shape, threshold)
    assert ours.dtype == np.int32 and ours.shape == tuple(shape)
    np.testing.assert_array_equal(ours, paste_masks_ref(masks, boxes, scores, shape, threshold))
    for full_image in (False, True) if torch_peers else ():
        peer = torch_paste_masks(torch.as_tensor(masks), torch.as_tensor(boxes),
                                 torch.as_tensor(scores), shape, threshold,
                                 dtype=torch.float64, full_image=full_image)
        np.testing.assert_array_equal(ours, peer.numpy(), err_msg=f"full_image={full_image}")
    m = np.asarray(masks)
    m = m.reshape(m.shape[0], *m.shape[-2:]) if m.ndim == 4 else m
    for order, parallel in (("forward", False), ("reversed", False), ("shuffled", False),
                            ("shuffled", True)):
        emulated = _core.testing.paste_masks_emulate_device(
            np.ascontiguousarray(m), np.asarray(boxes, np.float64),
            np.asarray(scores, np.float32), shape[0], shape[1], threshold, order, 7, parallel)
        np.testing.assert_array_equal(ours, emulated, err_msg=f"{order} parallel={parallel}")
    return ours


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_rois(seed):
    labels = check_all(*random_rois(seed=seed), (60, 80))
    assert len(np.unique(labels)) > 10


def test_cell_like_nuclei():
    masks, boxes, scores = make_nuclei(num=150, image=160, seed=3)
    labels = check_all(masks, boxes, scores, (160, 160))
    assert len(np.unique(labels)) > 100


def test_large_boxes_and_non_square_masks():
    # Boxes much larger than the mask: each mask cell spans several pixels, so the support
    # reaches several pixels beyond the box.
    rng = np.random.default_rng(4)
    boxes = np.array([[5.3, 2.2, 70.9, 40.1], [-30.0, -20.0, 40.5, 30.5], [30.0, 10.0, 31.5, 11.0]])
    masks = rng.uniform(size=(3, 5, 4)).astype(np.float32)
    check_all(masks, boxes, np.array([0.3, 0.9, 0.5], np.float32), (50, 75), 0.2)


def test_overlap_rule_higher_score_then_lower_index():
    masks = np.ones((4, 4, 4), np.float32)
    same = [10.0, 10.0, 20.0, 20.0]
    boxes = np.array([same, same, same, same])
    assert paste_masks(masks, boxes, np.array([0.1, 0.9, 0.9, 0.2], np.float32),
                       (30, 30))[15, 15] == 2  # highest score
    assert paste_masks(masks, boxes, np.array([0.5, 0.5, 0.5, 0.5], np.float32),
                       (30, 30))[15, 15] == 1  # all tied: lowest index
    assert paste_masks(masks, boxes, np.array([0.0, -0.0, -0.0, 0.0], np.float32),
                       (30, 30))[15, 15] == 1  # -0 ties with +0
    assert paste_masks(masks, boxes, np.array([-np.inf, -np.inf, -np.inf, np.inf], np.float32),
                       (30, 30))[15, 15] == 4
    check_all(masks, boxes, np.array([0.0, -0.0, np.inf, np.inf], np.float32), (30, 30))


def test_scores_compare_as_float32():
    masks = np.ones((2, 3, 3), np.float32)
    boxes = np.array([[0.0, 0.0, 5.0, 5.0]] * 2)
    # Distinct in float64, equal in float32: a tie, so the lower index wins.
    scores = np.array([0.5, 0.5 + 1e-12])
    assert paste_masks(masks, boxes, scores, (6, 6))[2, 2] == 1


def test_support_and_window_exactly():
    # A 2x2 mask of ones in the box [10, 14) x [10, 14): one mask cell = 2 px, so the bilinear
    # support reaches one pixel beyond the box on each side (u in (-1, 2)).
    masks = np.ones((1, 2, 2), np.float32)
    boxes = np.array([[10.0, 10.0, 14.0, 14.0]])
    at_zero = paste_masks(masks, boxes, np.ones(1, np.float32), (30, 30), threshold=0.0)
    ys, xs = np.nonzero(at_zero)
    # Pixel 9 has centre 9.5, u = -0.75: inside the support; pixel 8 (u = -1.25) is not.
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (9, 14, 9, 14)
    at_half = paste_masks(masks, boxes, np.ones(1, np.float32), (30, 30), threshold=0.5)
    ys, xs = np.nonzero(at_half)
    # prob = 1 - |u + 0.5| / 1 beyond the box edge: 0.25 at pixel 9, 0.75 at pixel 10.
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (10, 13, 10, 13)


@pytest.mark.parametrize("threshold", [0.0, 1.0, 0.25, 0.999])
def test_threshold_edges(threshold):
    masks, boxes, scores = random_rois(num=25, seed=5)
    masks[:5] = 0.0          # nothing is > 0 in these
    masks[5:10] = 0.999      # nearly-constant masks
    masks[10:12, 2:5] = 0.0  # holes
    labels = check_all(masks, boxes, scores, (60, 80), threshold)
    assert not np.isin(labels, np.arange(1, 6)).any()
    if threshold == 1.0:
        assert not labels.any()


def test_constant_mask_interpolates_exactly():
    # All-ones masks at threshold 1: ours never exceeds 1, so nothing is pasted. Not compared
    # with grid_sample, whose four-product sum rounds 1.0 up to 1 + 2**-52 at some pixels.
    masks, boxes, scores = random_rois(num=25, seed=5)
    masks[:] = 1.0
    assert not check_all(masks, boxes, scores, (60, 80), 1.0, torch_peers=False).any()
    labels = check_all(masks, boxes, scores, (60, 80), 0.999999)
    assert len(np.unique(labels)) > 10


def test_degenerate_nan_and_inf_boxes_paste_nothing():
    masks = np.ones((7, 3, 3), np.float32)
    boxes = np.array([
        [5.0, 5.0, 5.0, 9.0],        # zero width
        [5.0, 5.0, 9.0, 4.0],        # negative height
        [np.nan, 1.0, 5.0, 5.0],     # NaN coordinate
        [1.0, 1.0, np.inf, 5.0],     # infinite coordinate
        [-np.inf, 1.0, 5.0, 5.0],
        [2.0, 2.0, 6.0, 6.0],        # NaN score below
        [40.0, 40.0, 50.0, 50.0],    # entirely outside the image
    ])
    scores = np.array([1, 1, 1, 1, 1, np.nan, 1], np.float32)
    labels = check_all(masks, boxes, scores, (20, 20))
    assert not labels.any()
    # The same rois next to a valid one do not disturb it.
    boxes = np.vstack([boxes, [[3.0, 3.0, 12.0, 12.0]]])
    labels = check_all(np.ones((8, 3, 3), np.float32), boxes, np.append(scores, 0.1), (20, 20))
    assert set(np.unique(labels)) == {0, 8}


def test_tiny_and_huge_boxes():
    masks = np.full((3, 4, 4), 0.9, np.float32)
    boxes = np.array([[3.2, 3.2, 3.2000001, 3.2000001],   # sub-pixel: covers no pixel centre
                      [3.4, 3.4, 3.6, 3.6],               # contains the centre 3.5
                      [-1e30, -1e30, 1e30, 1e30]])        # covers everything
    labels = check_all(masks, boxes, np.array([3, 2, 1], np.float32), (8, 8))
    assert labels[3, 3] == 2 and (labels == 3).sum() == 63


def test_nan_probabilities_are_not_pasted():
    masks = np.full((1, 3, 3), np.nan, np.float32)
    masks[0, 0, 0] = 1.0
    labels = check_all(masks, np.array([[0.0, 0.0, 30.0, 30.0]]), np.ones(1, np.float32),
                       (30, 30))
    assert 0 < labels.sum() < 100  # only the area interpolated from the one finite cell alone


def test_empty_inputs():
    empty = np.zeros((0, 28, 28), np.float32)
    labels = paste_masks(empty, np.zeros((0, 4)), np.zeros(0, np.float32), (5, 7))
    assert labels.shape == (5, 7) and labels.dtype == np.int32 and not labels.any()
    masks, boxes, scores = random_rois(num=3)
    assert paste_masks(masks, boxes, scores, (0, 7)).shape == (0, 7)
    assert paste_masks(masks, boxes, scores, (7, 0)).shape == (7, 0)
    assert paste_masks(np.zeros((3, 0, 0), np.float32), boxes, scores, (5, 5)).sum() == 0


def test_dtypes_layouts_torch_and_not_mutated():
    masks, boxes, scores = random_rois(num=30, seed=8)
    want = paste_masks(masks, boxes, scores, (60, 80))
    copies = [x.copy() for x in (masks, boxes, scores)]
    np.testing.assert_array_equal(paste_masks(masks.astype(np.float64), boxes, scores, (60, 80)),
                                  want)
    np.testing.assert_array_equal(paste_masks(masks[:, None], boxes, scores, (60, 80)), want)
    np.testing.assert_array_equal(
        paste_masks(masks, boxes.astype(np.float32), scores, (60, 80)),
        paste_masks(masks, boxes.astype(np.float32).astype(np.float64), scores, (60, 80)))
    half = masks.astype(np.float16)
    np.testing.assert_array_equal(paste_masks(half, boxes, scores, (60, 80)),
                                  paste_masks(half.astype(np.float32), boxes, scores, (60, 80)))
    # Non-contiguous: transposed storage holding the same values.
    t_masks = torch.from_numpy(np.ascontiguousarray(masks.transpose(0, 2, 1))).transpose(1, 2)
    t_boxes = torch.from_numpy(np.ascontiguousarray(boxes.T)).T
    assert not t_masks.is_contiguous() and not t_boxes.is_contiguous()
    out = paste_masks(t_masks, t_boxes, torch.from_numpy(scores), torch.Size([60, 80]))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32
    np.testing.assert_array_equal(out.numpy(), want)
    for x, c in zip((masks, boxes, scores), copies):
        np.testing.assert_array_equal(x, c)


def test_thread_count_does_not_change_the_result():
    masks, boxes, scores = make_nuclei(num=300, image=256, seed=9)
    with num_threads(1):
        one = paste_masks(masks, boxes, scores, (256, 256))
    with num_threads(2):
        two = paste_masks(masks, boxes, scores, (256, 256))
    np.testing.assert_array_equal(one, two)


def test_errors():
    masks, boxes, scores = random_rois(num=3)
    with pytest.raises(ValueError, match=r"paste_masks: boxes must have shape \(R, 4\) = \(3, 4\), got \(3, 5\)"):
        paste_masks(masks, np.zeros((3, 5)), scores, (9, 9))
    with pytest.raises(ValueError, match=r"paste_masks: scores must have shape \(R,\) = \(3,\), got \(2,\)"):
        paste_masks(masks, boxes, scores[:2], (9, 9))
    with pytest.raises(ValueError, match=r"paste_masks: masks must be 3-D or 4-D, got shape \(3, 9\)"):
        paste_masks(masks[:, 0], boxes, scores, (9, 9))
    with pytest.raises(ValueError, match=r"paste_masks: 4-D masks must have shape \(R, 1, mask_h, mask_w\), got \(3, 2, 7, 9\)"):
        paste_masks(np.stack([masks, masks], 1), boxes, scores, (9, 9))
    with pytest.raises(TypeError, match=r"paste_masks: masks must have dtype in \(float16, float32, float64\), got uint8"):
        paste_masks(masks.astype(np.uint8), boxes, scores, (9, 9))
    with pytest.raises(ValueError, match=r"paste_masks: threshold must be in \[0, 1\], got 1.5"):
        paste_masks(masks, boxes, scores, (9, 9), 1.5)
    with pytest.raises(ValueError, match=r"paste_masks: threshold must be in \[0, 1\], got nan"):
        paste_masks(masks, boxes, scores, (9, 9), float("nan"))
    with pytest.raises(TypeError, match="paste_masks: threshold must be a real number, got str"):
        paste_masks(masks, boxes, scores, (9, 9), "0.5")
    with pytest.raises(ValueError, match=r"paste_masks: image_shape must be a \(H, W\) tuple of ints, got \(9, 9, 3\)"):
        paste_masks(masks, boxes, scores, (9, 9, 3))
    with pytest.raises(ValueError, match=r"paste_masks: image_shape must be a \(H, W\) tuple of ints, got \(9.0, 9\)"):
        paste_masks(masks, boxes, scores, (9.0, 9))
    with pytest.raises(ValueError, match=r"paste_masks: image_shape must be non-negative, got \(-1, 9\)"):
        paste_masks(masks, boxes, scores, (-1, 9))
    with pytest.raises(TypeError, match="paste_masks: image_shape must be a \\(H, W\\) tuple of ints, got int"):
        paste_masks(masks, boxes, scores, 9)
    with pytest.raises(RuntimeError, match="paste_masks: backend 'cuda' is not available"):
        paste_masks(masks, boxes, scores, (9, 9), backend="cuda")
    with pytest.raises(ValueError, match="paste_masks: order must be"):
        _core.testing.paste_masks_emulate_device(masks, boxes, scores, 9, 9, 0.5, "random")


@pytest.mark.cuda
def test_cuda_matches_cpu():
    masks, boxes, scores = make_nuclei(num=300, image=256, seed=11)
    dev = [torch.from_numpy(x).cuda() for x in (masks, boxes, scores)]
    got = paste_masks(*dev, (256, 256)).cpu().numpy()
    want = paste_masks(masks, boxes, scores, (256, 256))
    # CUDA samples in float32: allow only pixels whose probability is within rounding of 0.5.
    assert (got != want).mean() < 1e-4
