"""nms / batched_nms: keep lists identical to the NumPy reference and to torchvision, on random and
cell-like detections and on crafted boundary cases; the CUDA bitmask chain emulated on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

from cellrt import _backend, _core
from cellrt.ops import batched_nms, nms
from cellrt.reference.nms_ref import batched_nms_ref, cell_like_boxes, nms_ref
from tests.python.ops._threads import num_threads

torch = pytest.importorskip("torch")
tv_ops = pytest.importorskip("torchvision.ops")

THRESHOLDS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def random_boxes(rng, n, dtype=np.float32, extent=100.0, max_size=30.0):
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.uniform(1, max_size, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(dtype), rng.random(n).astype(np.float32)


def tv_nms(boxes, scores, thr):
    """torchvision.ops.nms on NumPy data (it needs boxes and scores of one dtype)."""
    b = torch.from_numpy(np.ascontiguousarray(boxes))
    return tv_ops.nms(b, torch.from_numpy(np.asarray(scores)).to(b.dtype), thr).numpy()


def tv_batched(boxes, scores, idxs, thr):
    b = torch.from_numpy(np.ascontiguousarray(boxes))
    s = torch.from_numpy(np.asarray(scores)).to(b.dtype)
    return tv_ops.batched_nms(b, s, torch.from_numpy(idxs), thr).numpy()


def same_up_to_ties(a, b, scores):
    """Same kept set and same score sequence: only boxes of equal score may swap places."""
    return set(a.tolist()) == set(b.tolist()) and np.array_equal(scores[a], scores[b])


def emulated(boxes, scores, idxs, thr, order, seed=0):
    return _core.testing.nms_mask_emulated(boxes, np.asarray(scores, np.float64), idxs, thr,
                                           order, seed)


# ---- parity ----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 17, 300, 1500])
def test_random_boxes_match_reference_and_torchvision(n, dtype):
    rng = np.random.default_rng(n)
    boxes, scores = random_boxes(rng, n, dtype)
    for thr in THRESHOLDS:
        ours = nms(boxes, scores, thr)
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr), err_msg=f"thr={thr}")
        np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr), err_msg=f"thr={thr}")


@pytest.mark.parametrize("n", [200, 3000, 20000])
def test_cell_like_matches_torchvision(n):
    rng = np.random.default_rng(7 + n)
    boxes, scores, _ = cell_like_boxes(rng, n)
    for thr in (0.0, 0.2, 0.3, 0.45, 0.5, 0.55, 0.7, 0.8, 0.95):
        ours = nms(boxes, scores, thr)
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr), err_msg=f"thr={thr}")
        if n <= 3000:
            np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))
    # The duplicates really are suppressed: roughly one box per nucleus survives at 0.5.
    assert len(nms(boxes, scores, 0.5)) < n / 3


def test_cell_like_float64_matches_torchvision():
    boxes, scores, _ = cell_like_boxes(np.random.default_rng(3), 4000, dtype=np.float64)
    for thr in (0.3, 0.5, 0.7):
        np.testing.assert_array_equal(nms(boxes, scores, thr), tv_nms(boxes, scores, thr))


def test_reference_matches_torchvision():
    """Tier 0: the oracle itself agrees with the peer library (float32 and float64)."""
    rng = np.random.default_rng(11)
    for dtype in (np.float32, np.float64):
        boxes, scores = random_boxes(rng, 400, dtype)
        for thr in (0.2, 0.5, 0.8):
            np.testing.assert_array_equal(nms_ref(boxes, scores, thr), tv_nms(boxes, scores, thr))


@pytest.mark.parametrize("n_classes", [1, 3, 40])
# torchvision.ops.batched_nms uses its offset trick below 1000 CPU boxes, per-class NMS above.
@pytest.mark.parametrize("n", [300, 2500])
def test_batched_matches_reference_and_torchvision(n, n_classes):
    rng = np.random.default_rng(n * n_classes)
    boxes, scores, _ = cell_like_boxes(rng, n)
    idxs = rng.integers(0, n_classes, n)
    for thr in (0.0, 0.3, 0.5, 0.7):
        ours = batched_nms(boxes, scores, idxs, thr)
        np.testing.assert_array_equal(ours, batched_nms_ref(boxes, scores, idxs, thr))
        # torchvision's per-class path sorts the kept boxes with an unstable sort: ties may swap.
        assert same_up_to_ties(ours, tv_batched(boxes, scores, idxs, thr), scores)


def test_batched_classes_never_suppress_each_other():
    box = np.array([[0, 0, 10, 10]], np.float32)
    boxes = np.repeat(box, 6, 0)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], np.float32)
    idxs = np.array([5, -3, 5, 2**40, -3, 7])  # any int64 values, negative ones included
    np.testing.assert_array_equal(batched_nms(boxes, scores, idxs, 0.5), [0, 1, 3, 5])
    # One category: plain nms.
    np.testing.assert_array_equal(batched_nms(boxes, scores, np.zeros(6, np.int64), 0.5),
                                  nms(boxes, scores, 0.5))


def test_batched_result_independent_of_thread_count():
    rng = np.random.default_rng(5)
    boxes, scores, _ = cell_like_boxes(rng, 6000)
    idxs = rng.integers(0, 8, 6000)
    with num_threads(1):
        one = batched_nms(boxes, scores, idxs, 0.5)
    with num_threads(2):
        two = batched_nms(boxes, scores, idxs, 0.5)
    np.testing.assert_array_equal(one, two)


# ---- array kinds, layout, mutation -------------------------------------------------------------

def test_torch_in_torch_out_numpy_in_numpy_out():
    boxes, scores, _ = cell_like_boxes(np.random.default_rng(0), 500)
    idxs = np.arange(500) % 3
    out_np = nms(boxes, scores, 0.5)
    assert isinstance(out_np, np.ndarray) and out_np.dtype == np.int64
    out_t = nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.int64
    np.testing.assert_array_equal(out_t.numpy(), out_np)
    bt = batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs), 0.5)
    assert isinstance(bt, torch.Tensor) and bt.dtype == torch.int64
    np.testing.assert_array_equal(bt.numpy(), batched_nms(boxes, scores, idxs, 0.5))
    # Mixed dtypes are fine (torchvision would reject them): scores only define the order.
    np.testing.assert_array_equal(nms(boxes.astype(np.float64), scores, 0.5),
                                  nms(boxes.astype(np.float64), scores.astype(np.float64), 0.5))
    # Tensors that require grad are accepted (no gradient flows through indices).
    out_g = nms(torch.from_numpy(boxes).requires_grad_(), torch.from_numpy(scores), 0.5)
    assert not out_g.requires_grad


def test_non_contiguous_inputs():
    boxes, scores, _ = cell_like_boxes(np.random.default_rng(1), 800)
    idxs = np.arange(800) % 4
    boxes_t = torch.from_numpy(np.ascontiguousarray(boxes.T)).permute(1, 0)  # (N, 4) column-major
    scores_t = torch.from_numpy(np.repeat(scores, 2))[::2]
    idxs_t = torch.from_numpy(np.repeat(idxs, 3))[::3]
    assert not boxes_t.is_contiguous() and not scores_t.is_contiguous()
    np.testing.assert_array_equal(nms(boxes_t, scores_t, 0.5).numpy(), nms(boxes, scores, 0.5))
    np.testing.assert_array_equal(batched_nms(boxes_t, scores_t, idxs_t, 0.5).numpy(),
                                  batched_nms(boxes, scores, idxs, 0.5))
    boxes_np = np.asfortranarray(boxes)
    np.testing.assert_array_equal(nms(boxes_np, scores[::1], 0.5), nms(boxes, scores, 0.5))


def test_inputs_not_mutated():
    boxes, scores, _ = cell_like_boxes(np.random.default_rng(2), 1000)
    idxs = np.arange(1000) % 5
    copies = boxes.copy(), scores.copy(), idxs.copy()
    nms(boxes, scores, 0.5)
    batched_nms(boxes, scores, idxs, 0.5)
    bt, st = torch.from_numpy(boxes.copy()), torch.from_numpy(scores.copy())
    nms(bt, st, 0.5)
    for a, b in zip((boxes, scores, idxs), copies):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(bt.numpy(), copies[0])
    np.testing.assert_array_equal(st.numpy(), copies[1])


# ---- boundary cases -----------------------------------------------------------------------------

def test_empty_and_single():
    for dtype in (np.float32, np.float64):
        empty = nms(np.zeros((0, 4), dtype), np.zeros(0, np.float32), 0.5)
        assert empty.shape == (0,) and empty.dtype == np.int64
        none = batched_nms(np.zeros((0, 4), dtype), np.zeros(0), np.zeros(0, np.int64), 0.5)
        assert none.shape == (0,) and none.dtype == np.int64
    et = nms(torch.zeros((0, 4)), torch.zeros(0), 0.5)
    assert isinstance(et, torch.Tensor) and et.shape == (0,) and et.dtype == torch.int64
    np.testing.assert_array_equal(nms(np.array([[1, 2, 3, 4]], np.float32), np.ones(1), 0.5), [0])
    assert emulated(np.zeros((0, 4), np.float32), np.zeros(0), None, 0.5, "shuffled").shape == (0,)


def test_ties_broken_by_lower_index():
    # 4 distinct spots, each repeated 3 times with equal scores: the first copy of each survives.
    spots = np.array([[0, 0, 10, 10], [100, 100, 110, 110], [200, 0, 210, 10], [0, 200, 10, 210]],
                     np.float32)
    boxes = np.tile(spots, (3, 1))
    scores = np.ones(12, np.float32)
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [0, 1, 2, 3])
    np.testing.assert_array_equal(tv_nms(boxes, scores, 0.5), [0, 1, 2, 3])
    # Many ties on a big cell-like set (scores rounded to 2 decimals): still identical.
    b, s, _ = cell_like_boxes(np.random.default_rng(9), 5000)
    s = np.round(s, 2)
    np.testing.assert_array_equal(nms(b, s, 0.5), tv_nms(b, s, 0.5))
    # -0.0 and +0.0 are equal scores.
    pair = np.array([[0, 0, 10, 10]] * 2, np.float32)
    np.testing.assert_array_equal(nms(pair, np.array([-0.0, 0.0], np.float32), 0.5), [0])


def test_nan_scores_rank_first_like_torchvision():
    boxes = np.array([[0, 0, 10, 10], [200, 0, 210, 10], [400, 0, 410, 10], [600, 0, 610, 10],
                      [0, 0, 10, 10]], np.float32)
    scores = np.array([1.0, np.nan, np.inf, np.nan, -np.inf], np.float32)
    ours = nms(boxes, scores, 0.5)
    np.testing.assert_array_equal(ours, [1, 3, 2, 0])  # box 4 duplicates box 0 at a lower score
    np.testing.assert_array_equal(ours, tv_nms(boxes, scores, 0.5))
    np.testing.assert_array_equal(ours, nms_ref(boxes, scores, 0.5))


def test_nan_coordinates_never_suppress_and_are_never_suppressed():
    rng = np.random.default_rng(4)
    boxes, scores, _ = cell_like_boxes(rng, 2000)
    bad = rng.choice(2000, 100, replace=False)
    boxes[bad, rng.integers(0, 4, 100)] = np.nan
    for thr in (0.3, 0.5, -0.5):
        ours = nms(boxes, scores, thr)
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr))
        np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))
        assert set(bad.tolist()) <= set(ours.tolist())
        np.testing.assert_array_equal(emulated(boxes, scores, None, thr, "shuffled", 3), ours)


def test_degenerate_and_inverted_boxes():
    rng = np.random.default_rng(6)
    boxes, scores, _ = cell_like_boxes(rng, 1500)
    k = rng.choice(1500, 300, replace=False)
    boxes[k[:100], 2] = boxes[k[:100], 0]           # zero width
    boxes[k[100:200], 3] = boxes[k[100:200], 1]     # zero height
    boxes[k[200:], :] = boxes[k[200:]][:, [2, 3, 0, 1]]  # inverted corners: positive area
    for thr in (0.0, 0.5, -0.1):
        ours = nms(boxes, scores, thr)
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr), err_msg=f"thr={thr}")
        np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))
    # All boxes identical and zero-area: IoU is 0/0, nothing is suppressed.
    points = np.zeros((50, 4), np.float32)
    np.testing.assert_array_equal(nms(points, np.linspace(1, 0, 50), 0.5), np.arange(50))


@pytest.mark.parametrize("dtype,big",
                         [(np.float32, 3e38), (np.float64, 1e300), (np.float32, np.inf)])
def test_huge_coordinates(dtype, big):
    rng = np.random.default_rng(8)
    boxes, scores, _ = cell_like_boxes(rng, 1200, dtype=dtype)
    boxes[:5] = [[-big, -big, big, big], [0, 0, big, big], [-big, 0, 50, 60],
                 [1e20, 1e20, 2e20, 2e20],
                 [big / 2, big / 2, big, big]]
    boxes[5:10] = boxes[:5]  # duplicates of the huge boxes
    boxes[10:20] *= 1e15     # a far-away, scaled cluster stretches the grid extent
    for thr in (0.3, 0.5, 0.9):
        ours = nms(boxes, scores, thr)
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr), err_msg=f"thr={thr}")
        np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))


def test_mixed_sizes_and_elongated_boxes():
    """Boxes far larger than the median cell (wide boxes, long thin boxes) take the grid's
    slow lanes; results must not change."""
    rng = np.random.default_rng(12)
    boxes, scores, side = cell_like_boxes(rng, 3000)
    big = rng.choice(3000, 60, replace=False)
    boxes[big[:20], 2] = boxes[big[:20], 0] + side * 0.8       # very long in x
    boxes[big[20:40], 3] = boxes[big[20:40], 1] + side * 0.5   # very long in y
    boxes[big[40:], 2:] = boxes[big[40:], :2] + side / 3       # large squares
    for thr in (0.0, 0.05, 0.5):
        np.testing.assert_array_equal(nms(boxes, scores, thr), tv_nms(boxes, scores, thr))


def test_iou_exactly_at_threshold():
    # IoU([0,0,2,1], [0,0,1,1]) = 1 / (2 + 1 - 1) = 0.5 exactly, in float32 and float64.
    for dtype in (np.float32, np.float64):
        boxes = np.array([[0, 0, 2, 1], [0, 0, 1, 1]], dtype)
        scores = np.array([2.0, 1.0], np.float32)
        for thr, want in ((0.5, [0, 1]), (np.nextafter(0.5, 0.0), [0]), (0.4999, [0])):
            np.testing.assert_array_equal(nms(boxes, scores, thr), want, err_msg=f"{dtype} {thr}")
            np.testing.assert_array_equal(tv_nms(boxes, scores, thr), want)
            np.testing.assert_array_equal(emulated(boxes, scores, None, thr, "forward"), want)
    # 7 / 10 = 0.7 is not representable: float32 IoU is 0.699999988 < 0.7 (double), so the box
    # survives at 0.7 but not just below float32(0.7). torchvision decides the same way.
    boxes = np.array([[0, 0, 10, 1], [0, 0, 7, 1]], np.float32)
    scores = np.array([2.0, 1.0], np.float32)
    f07 = float(np.float32(0.7))
    for thr in (0.7, f07, np.nextafter(f07, 0.0)):
        ours = nms(boxes, scores, thr)
        np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr), err_msg=f"thr={thr!r}")
        np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))
    np.testing.assert_array_equal(nms(boxes, scores, 0.7), [0, 1])
    np.testing.assert_array_equal(nms(boxes, scores, np.nextafter(f07, 0.0)), [0])
    # In float64 the same boxes give IoU 0.7 (double) exactly: kept at 0.7.
    np.testing.assert_array_equal(nms(boxes.astype(np.float64), scores, 0.7), [0, 1])


@pytest.mark.parametrize("thr", [-np.inf, -1.0, -1e-9, -0.0, 1.0, 1.5, np.inf, np.nan])
def test_threshold_outside_unit_interval_matches_torchvision(thr):
    rng = np.random.default_rng(10)
    boxes, scores, _ = cell_like_boxes(rng, 400)
    boxes[:3] = [[5, 5, 5, 5], [7, 7, 7, 7], [0, 0, np.nan, 1]]  # zero-area points, a NaN box
    boxes[3] = boxes[0]
    ours = nms(boxes, scores, thr)
    np.testing.assert_array_equal(ours, tv_nms(boxes, scores, thr))
    np.testing.assert_array_equal(ours, nms_ref(boxes, scores, thr))
    if thr >= 1.0 or np.isnan(thr):
        assert len(ours) == 400  # nothing suppressed
    if thr < 0:
        # The top box suppresses everything with a defined IoU; NaN IoUs survive.
        assert ours[0] == np.argmax(scores) and len(ours) <= 5


def test_identical_boxes_and_dense_cluster():
    boxes = np.tile(np.array([[10, 10, 30, 30]], np.float32), (3000, 1))
    scores = np.random.default_rng(0).random(3000).astype(np.float32)
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [np.argmax(scores)])
    rng = np.random.default_rng(1)
    c = rng.normal(50, 3, (3000, 2))
    boxes = np.concatenate([c - 10, c + 10], 1).astype(np.float32)
    np.testing.assert_array_equal(nms(boxes, scores, 0.3), tv_nms(boxes, scores, 0.3))


# ---- the CUDA chain, emulated on the CPU --------------------------------------------------------

@pytest.mark.parametrize("n", [1, 63, 64, 65, 130, 700])
def test_mask_emulation_matches_cpu_and_torchvision(n):
    rng = np.random.default_rng(n)
    boxes, scores, _ = cell_like_boxes(rng, n)
    for thr in (0.0, 0.5, 0.8, -0.5):
        want = nms(boxes, scores, thr)
        np.testing.assert_array_equal(want, tv_nms(boxes, scores, thr))
        for order, seed in (("forward", 0), ("reversed", 0), ("shuffled", 1), ("shuffled", 2)):
            got = emulated(boxes, scores, None, thr, order, seed)
            np.testing.assert_array_equal(got, want, err_msg=f"{order} thr={thr}")
        np.testing.assert_array_equal(emulated(boxes.astype(np.float64), scores, None, thr,
                                               "shuffled", 5),
                                      nms(boxes.astype(np.float64), scores, thr))


def test_mask_emulation_batched():
    rng = np.random.default_rng(21)
    boxes, scores, _ = cell_like_boxes(rng, 900)
    idxs = rng.integers(-2, 3, 900)
    for thr in (0.3, 0.6):
        want = batched_nms(boxes, scores, idxs, thr)
        for order in ("reversed", "shuffled"):
            np.testing.assert_array_equal(emulated(boxes, scores, idxs, thr, order, 4), want)


@pytest.mark.parametrize("n", [0, 1, 64, 65, 1000, 100000])
def test_mask_launch_config_and_workspace(n):
    c = _core.testing.nms_mask_launch_config(n)
    col_blocks = -(-n // 64)
    assert c["threads"] == 64 and c["col_blocks"] == col_blocks
    assert c["tiles"] == col_blocks * col_blocks
    assert c["mask_words"] == n * col_blocks == _core.nms_mask_words(n)
    assert c["workspace_bytes"] == 8 * n * col_blocks
    assert 1 <= c["blocks"] <= min(max(c["tiles"], 1), 65535)
    small = _core.testing.nms_mask_launch_config(n, max_blocks=3)
    assert small["blocks"] == min(max(c["tiles"], 1), 3)


def test_reduce_mask_hand_made():
    # 3 boxes: row 0 suppresses box 2, row 1 suppresses box 2 too, row 2 nothing.
    mask = np.array([0b100, 0b100, 0], np.uint64)
    np.testing.assert_array_equal(_core.nms_reduce_mask(mask, 3), [0, 1])
    # Row 0 suppresses 1; suppressed row 1 would suppress 2 but must not count.
    mask = np.array([0b010, 0b100, 0], np.uint64)
    np.testing.assert_array_equal(_core.nms_reduce_mask(mask, 3), [0, 2])
    # Across a word boundary: 66 boxes, 2 words per row, row 0 suppresses box 65.
    mask = np.zeros((66, 2), np.uint64)
    mask[0, 1] = np.uint64(1 << 1)
    np.testing.assert_array_equal(_core.nms_reduce_mask(mask.ravel(), 66),
                                  np.delete(np.arange(66), 65))
    with pytest.raises(ValueError, match="nms_reduce_mask: mask must hold 132 words"):
        _core.nms_reduce_mask(np.zeros(10, np.uint64), 66)


# ---- errors ------------------------------------------------------------------------------------

def test_errors():
    boxes, scores = random_boxes(np.random.default_rng(0), 5)
    idxs = np.zeros(5, np.int64)
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\), got \(5, 3\)"):
        nms(boxes[:, :3], scores, 0.5)
    with pytest.raises(ValueError, match=r"nms: boxes must be 2-D, got shape \(20,\)"):
        nms(boxes.ravel(), scores, 0.5)
    with pytest.raises(ValueError,
                       match=r"nms: scores must have shape \(N,\) with N = 5 boxes, got \(4,\)"):
        nms(boxes, scores[:4], 0.5)
    with pytest.raises(ValueError, match=r"nms: scores must be 1-D"):
        nms(boxes, scores[:, None], 0.5)
    with pytest.raises(TypeError,
                       match=r"nms: boxes must have dtype in \(float32, float64\), got int64"):
        nms(boxes.astype(np.int64), scores, 0.5)
    with pytest.raises(TypeError, match=r"nms: boxes must have dtype .* got float16"):
        nms(torch.from_numpy(boxes).half(), torch.from_numpy(scores), 0.5)
    with pytest.raises(TypeError, match=r"nms: scores must have dtype .* got int32"):
        nms(boxes, np.arange(5, dtype=np.int32), 0.5)
    with pytest.raises(TypeError,
                       match="nms: boxes must be a numpy.ndarray or torch.Tensor, got dict"):
        nms({}, scores, 0.5)
    with pytest.raises(TypeError, match="nms: iou_threshold must be a real number, got str"):
        nms(boxes, scores, "0.5")
    with pytest.raises(TypeError, match="nms: iou_threshold must be a real number, got bool"):
        nms(boxes, scores, True)
    with pytest.raises(ValueError, match=r"batched_nms: idxs must have shape \(N,\) with N = 5 "
                                         r"boxes, got \(6,\)"):
        batched_nms(boxes, scores, np.zeros(6, np.int64), 0.5)
    with pytest.raises(TypeError, match=r"batched_nms: idxs must have dtype .* got float32"):
        batched_nms(boxes, scores, idxs.astype(np.float32), 0.5)
    with pytest.raises(TypeError, match="batched_nms: idxs must be an integer array, got None"):
        batched_nms(boxes, scores, None, 0.5)
    with pytest.raises(ValueError, match="nms: backend must be one of"):
        nms(boxes, scores, 0.5, backend="gpu")
    if not _backend.HAS_CUDA:
        with pytest.raises(RuntimeError, match="nms: backend 'cuda' is not available"):
            nms(torch.from_numpy(boxes), torch.from_numpy(scores), 0.5, backend="cuda")
    # The compiled entry points validate too (they are callable directly).
    with pytest.raises(ValueError, match=r"nms: boxes must have shape \(N, 4\), got \(5, 3\)"):
        _core.nms(boxes[:, :3], scores, 0.5)
    with pytest.raises(ValueError, match=r"batched_nms: idxs must have one entry per box \(5\)"):
        _core.batched_nms(boxes, scores, np.zeros(3, np.int64), 0.5)
    with pytest.raises(TypeError, match="nms: boxes must be float32 or float64, got int32"):
        _core.nms(boxes.astype(np.int32), scores, 0.5)
    with pytest.raises(ValueError, match="nms_mask_emulated: order must be"):
        _core.testing.nms_mask_emulated(boxes, scores.astype(np.float64), None, 0.5, "random")


# ---- torch.library ------------------------------------------------------------------------------

def test_torch_custom_ops_opcheck():
    import cellrt.torch.nms  # noqa: F401  (registers torch.ops.cellrt.*)

    boxes, scores, _ = cell_like_boxes(np.random.default_rng(0), 300)
    b, s = torch.from_numpy(boxes), torch.from_numpy(scores)
    i = torch.from_numpy(np.arange(300) % 3)
    for args in ((b, s, 0.5), (b.double(), s, 0.3), (b[:0], s[:0], 0.5)):
        torch.library.opcheck(torch.ops.cellrt.nms.default, args)
        out = torch.ops.cellrt.nms(*args)
        want = tv_nms(args[0].numpy(), args[1].numpy(), args[2])
        np.testing.assert_array_equal(out.numpy(), want)
    torch.library.opcheck(torch.ops.cellrt.batched_nms.default, (b, s, i, 0.5))
    np.testing.assert_array_equal(torch.ops.cellrt.batched_nms(b, s, i, 0.5).numpy(),
                                  batched_nms(boxes, scores, i.numpy(), 0.5))


def test_torch_fake_output_has_dynamic_length():
    import cellrt.torch.nms  # noqa: F401
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    with FakeTensorMode(shape_env=ShapeEnv()):
        out = torch.ops.cellrt.nms(torch.empty(10, 4), torch.empty(10), 0.5)
        assert out.dtype == torch.int64 and out.dim() == 1
        assert isinstance(out.shape[0], torch.SymInt)


@pytest.mark.cuda
def test_cuda_matches_cpu():
    rng = np.random.default_rng(0)
    boxes, scores, _ = cell_like_boxes(rng, 3000)
    idxs = rng.integers(0, 4, 3000)
    bc, sc, ic = (torch.from_numpy(x).cuda() for x in (boxes, scores, idxs))
    for thr in (0.3, 0.5, 0.7):
        np.testing.assert_array_equal(nms(bc, sc, thr).cpu().numpy(), nms(boxes, scores, thr))
        np.testing.assert_array_equal(batched_nms(bc, sc, ic, thr).cpu().numpy(),
                                      batched_nms(boxes, scores, idxs, thr))


@pytest.mark.parametrize("thr", [-1.0, 0.5])
def test_degenerate_inputs_stay_fast(thr):
    """Inputs where every box survives (zero-area points, NaN boxes) must not take O(N^2) time,
    including with a negative threshold: 100k boxes in well under a second."""
    import time

    n = 100_000
    rng = np.random.default_rng(0)
    points = np.tile(rng.uniform(0, 1000, (n, 2)), (1, 2)).astype(np.float32)  # x1=x2, y1=y2
    nan_boxes = np.full((n, 4), np.nan, np.float32)
    scores = rng.random(n).astype(np.float32)
    order = np.lexsort((np.arange(n), -scores.astype(np.float64)))
    for boxes in (points, nan_boxes):
        t0 = time.perf_counter()
        np.testing.assert_array_equal(nms(boxes, scores, thr), order)
        assert time.perf_counter() - t0 < 5.0
    # A negative threshold: the top box of non-zero area suppresses all boxes of defined IoU.
    mixed = points.copy()
    mixed[7] = [0, 0, 10, 10]
    scores[7] = 2.0
    np.testing.assert_array_equal(nms(mixed, scores, -1.0), [7])
    small = np.r_[0:300, 7]
    np.testing.assert_array_equal(nms(mixed[small], scores[small], -1.0),
                                  tv_nms(mixed[small], scores[small], -1.0))
