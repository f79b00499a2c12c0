"""roi_align / multilevel_roi_align: parity with torchvision and the float64 reference, boundary
and non-finite inputs, layouts, errors, the element-loop vs fast-path agreement, the emulated
device schedules of the atomic backward, and the torch.library integration."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from cellrt import _backend, _core  # noqa: E402
from cellrt.ops import multilevel_roi_align, roi_align  # noqa: E402
from cellrt.ops.roi_align import multilevel_roi_align_backward, roi_align_backward  # noqa: E402
from cellrt.reference.roi_align_ref import (  # noqa: E402
    fpn_level_ref,
    multilevel_roi_align_ref,
    roi_align_backward_ref,
    roi_align_ref,
)
from tests.tolerances import tol  # noqa: E402

def _tol(kind, dtype):
    """Tolerance table entry for a NumPy dtype, NumPy type or torch dtype."""
    return tol(kind, dtype if isinstance(dtype, torch.dtype) else np.dtype(dtype).name)


CONFIGS = [(aligned, ratio) for aligned in (False, True) for ratio in (-1, 0, 2)]


def _cell_boxes(rng, k, image_h, image_w, batch, min_side=2.0, max_side=40.0, margin=8.0):
    """Cell-like boxes in image pixels: centres anywhere (some boxes cross the border)."""
    cy = rng.uniform(-margin, image_h + margin, k)
    cx = rng.uniform(-margin, image_w + margin, k)
    h = rng.uniform(min_side, max_side, k)
    w = rng.uniform(min_side, max_side, k)
    idx = rng.integers(0, batch, k)
    return np.stack([idx, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _inputs(rng, dtype=np.float32, n=2, c=3, h=12, w=10, k=9, scale=0.5):
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    boxes = _cell_boxes(rng, k, h / scale, w / scale, n, max_side=16 / scale).astype(dtype)
    return x, boxes


def _tv_forward(x, boxes, size, scale, ratio, aligned):
    return torchvision.ops.roi_align(
        torch.from_numpy(x), torch.from_numpy(boxes), size, scale, ratio, aligned
    ).numpy()


def _tv_backward(grad, boxes, shape, scale, ratio, aligned):
    leaf = torch.zeros(shape, dtype=torch.from_numpy(grad).dtype, requires_grad=True)
    out = torchvision.ops.roi_align(leaf, torch.from_numpy(boxes), grad.shape[2:], scale, ratio, aligned)
    out.backward(torch.from_numpy(grad))
    return leaf.grad.numpy()


# ---- parity with torchvision -------------------------------------------------------------------


@pytest.mark.parametrize("aligned,ratio", CONFIGS)
def test_forward_and_backward_match_torchvision(aligned, ratio):
    rng = np.random.default_rng(1)
    for size in (7, (5, 3), 1):
        for scale in (1.0, 0.25):
            x, boxes = _inputs(rng, n=2, c=4, h=24, w=20, k=30, scale=scale)
            out = roi_align(x, boxes, size, scale, ratio, aligned)
            expected = _tv_forward(x, boxes, size, scale, ratio, aligned)
            np.testing.assert_allclose(out, expected, **_tol("forward", np.float32))
            grad = rng.standard_normal(out.shape).astype(np.float32)
            got = roi_align_backward(grad, boxes, x.shape, scale, ratio, aligned)
            want = _tv_backward(grad, boxes, x.shape, scale, ratio, aligned)
            np.testing.assert_allclose(got, want, **_tol("backward", np.float32))


@pytest.mark.parametrize("aligned,ratio", [(False, -1), (True, 2), (True, 0)])
def test_boxes_outside_degenerate_and_inverted_match_torchvision(aligned, ratio):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    boxes = np.array(
        [
            [0, -30, -30, -20, -20],  # wholly outside (above left)
            [1, 40, 50, 60, 70],  # wholly outside (below right)
            [0, -5, -4, 6, 5],  # partly outside
            [1, 8, 6, 14, 12],  # crosses the bottom-right corner
            [0, 3, 3, 3, 3],  # zero size
            [1, 2.5, 4, 2.5, 8],  # zero width
            [0, 4, 4, 4.3, 4.2],  # smaller than a pixel
            [1, 7, 6, 2, 1],  # inverted
            [0, -1, -1, 11, 9],  # the whole map and one pixel around
            [1, 0, 0, 10, 8],  # exactly the map
        ],
        dtype=np.float32,
    )
    for size in (4, (2, 5)):
        out = roi_align(x, boxes, size, 1.0, ratio, aligned)
        np.testing.assert_allclose(out, _tv_forward(x, boxes, size, 1.0, ratio, aligned),
                                   **_tol("forward", np.float32))
        np.testing.assert_array_equal(out[:2], 0)  # every sample more than a pixel outside
        grad = rng.standard_normal(out.shape).astype(np.float32)
        np.testing.assert_allclose(
            roi_align_backward(grad, boxes, x.shape, 1.0, ratio, aligned),
            _tv_backward(grad, boxes, x.shape, 1.0, ratio, aligned),
            **_tol("backward", np.float32),
        )


# ---- parity with the float64 reference -----------------------------------------------------------


@pytest.mark.parametrize("aligned,ratio", CONFIGS)
def test_float64_matches_reference(aligned, ratio):
    rng = np.random.default_rng(3)
    x, boxes = _inputs(rng, np.float64, n=2, c=3, h=9, w=8, k=6, scale=0.5)
    boxes[0] = [1, -3, -2, 3.5, 30]  # a tall box: adaptive grids of different sides
    out = roi_align(x, boxes, (3, 2), 0.5, ratio, aligned)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, roi_align_ref(x, boxes, (3, 2), 0.5, ratio, aligned),
                               **_tol("forward", np.float64))
    grad = rng.standard_normal(out.shape)
    np.testing.assert_allclose(
        roi_align_backward(grad, boxes, x.shape, 0.5, ratio, aligned),
        roi_align_backward_ref(grad, boxes, x.shape, 0.5, ratio, aligned),
        **_tol("backward", np.float64),
    )


def test_float32_matches_reference():
    rng = np.random.default_rng(4)
    x, boxes = _inputs(rng, np.float32, k=5)
    np.testing.assert_allclose(roi_align(x, boxes, 3, 0.5, 2, True),
                               roi_align_ref(x, boxes, 3, 0.5, 2, True), **_tol("forward", np.float32))


# ---- non-finite values ----------------------------------------------------------------------------


@pytest.mark.parametrize("aligned,ratio", [(False, -1), (True, 2), (False, 3), (True, 0)])
def test_nonfinite_box_coordinates(aligned, ratio):
    rng = np.random.default_rng(5)
    x, boxes = _inputs(rng, np.float32, k=12)
    bad = []
    for value in (np.nan, np.inf, -np.inf):
        for col in range(1, 5):
            row = boxes[col % 3].copy()
            row[col] = value
            bad.append(row)
    bad = np.array(bad, dtype=np.float32)
    allb = np.concatenate([boxes, bad])
    out = roi_align(x, allb, 3, 0.5, ratio, aligned)
    k = len(boxes)
    # NaN coordinates give zeros. Infinite ones follow the finite arithmetic: a box reaching to
    # infinity samples off the map (zeros); x2 = -inf is an inverted box, which the legacy model
    # widens to one pixel like any other.
    np.testing.assert_array_equal(out[k : k + 4], 0)
    np.testing.assert_array_equal(out[k + 4 : k + 12][[0, 1, 2, 3, 4, 5]], 0)
    np.testing.assert_allclose(out, roi_align_ref(x, allb, 3, 0.5, ratio, aligned), **_tol("forward", np.float32))
    np.testing.assert_allclose(out[:k], _tv_forward(x, boxes, 3, 0.5, ratio, aligned),
                               **_tol("forward", np.float32))
    # The element loop (the code the GPU runs) agrees.
    elements = _core.testing.roi_align_forward_elements(x, allb, 3, 3, 0.5, ratio, aligned)
    np.testing.assert_allclose(out, elements, **_tol("forward", np.float32))
    # Backward: the NaN rows contribute nothing (and never index memory).
    grad = rng.standard_normal(out.shape).astype(np.float32)
    grad[k + 4 :] = 0
    got = roi_align_backward(grad, allb, x.shape, 0.5, ratio, aligned)
    want = _tv_backward(grad[:k], boxes, x.shape, 0.5, ratio, aligned)
    np.testing.assert_allclose(got, want, **_tol("backward", np.float32))


def test_huge_boxes_terminate_with_capped_grid():
    x = np.ones((1, 2, 4, 4), np.float32)
    boxes = np.array([[0, -1e30, -1e30, 1e30, 1e30], [0, 0, 0, 3e38, 3e38]], np.float32)
    out = roi_align(x, boxes, 2, 1.0, -1, False)  # would overflow int / never finish uncapped
    np.testing.assert_array_equal(out, 0)


def test_nonfinite_input_values_propagate_like_torchvision():
    rng = np.random.default_rng(6)
    x, boxes = _inputs(rng, np.float32, k=20)
    boxes[:, 1:] = np.clip(boxes[:, 1:], 0, 15)  # inside the map, so no sample falls off it
    x[0, 1, 5, 7] = np.nan
    x[1, 2, 3, 3] = np.inf
    x[1, 0, 6, 2] = -np.inf
    covering = np.array([[0, 12, 8, 18, 14], [1, 4, 4, 8, 8], [1, 2, 10, 8, 14]], np.float32)
    boxes = np.concatenate([boxes, covering])
    for aligned in (False, True):
        out = roi_align(x, boxes, 4, 0.5, -1, aligned)
        expected = _tv_forward(x, boxes, 4, 0.5, -1, aligned)
        assert not np.isfinite(out[-3, 1]).all()
        assert not np.isfinite(out[-2, 2]).all() and not np.isfinite(out[-1, 0]).all()
        np.testing.assert_allclose(out, expected, equal_nan=True, **_tol("forward", np.float32))


# ---- empty, layouts, array kinds, mutation -----------------------------------------------------


def test_empty_boxes():
    x = np.ones((2, 3, 5, 5), np.float32)
    none = np.zeros((0, 5), np.float32)
    assert roi_align(x, none, (2, 3)).shape == (0, 3, 2, 3)
    t = roi_align(torch.from_numpy(x), torch.from_numpy(none), 2)
    assert isinstance(t, torch.Tensor) and t.shape == (0, 3, 2, 2)
    grad = roi_align_backward(np.zeros((0, 3, 2, 2), np.float32), none, x.shape)
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    assert roi_align(np.ones((1, 0, 4, 4), np.float32), [[0, 0, 0, 2, 2]], 2).shape == (1, 0, 2, 2)


def test_single_pixel_map_and_single_box():
    x = np.full((1, 2, 1, 1), 3.0, np.float32)
    out = roi_align(x, np.array([[0, -0.5, -0.5, 0.5, 0.5]], np.float32), 2, 1.0, 2, True)
    np.testing.assert_array_equal(out, _tv_forward(x, np.array([[0, -0.5, -0.5, 0.5, 0.5]], np.float32),
                                                   2, 1.0, 2, True))


def test_channels_last_and_noncontiguous_inputs_match_contiguous():
    rng = np.random.default_rng(7)
    x, boxes = _inputs(rng, np.float32, c=5)
    expected = roi_align(x, boxes, 3, 0.5, 2, False)
    xt = torch.from_numpy(x)
    channels_last = xt.contiguous(memory_format=torch.channels_last)
    assert not channels_last.is_contiguous()
    np.testing.assert_array_equal(roi_align(channels_last, torch.from_numpy(boxes), 3, 0.5, 2).numpy(),
                                  expected)
    nhwc_view = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(roi_align(nhwc_view, boxes, 3, 0.5, 2), expected)
    # Other strides (H and W swapped, a channel slice) take the copying path.
    swapped = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    np.testing.assert_array_equal(roi_align(swapped, boxes, 3, 0.5, 2), expected)
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(roi_align(wide, boxes, 3, 0.5, 2), expected)
    np.testing.assert_array_equal(roi_align(x, np.asfortranarray(boxes), 3, 0.5, 2), expected)


def test_numpy_and_torch_in_and_out():
    rng = np.random.default_rng(8)
    for dtype in (np.float32, np.float64):
        x, boxes = _inputs(rng, dtype)
        out = roi_align(x, boxes, 2, 0.5)
        assert isinstance(out, np.ndarray) and out.dtype == dtype
        t = roi_align(torch.from_numpy(x), torch.from_numpy(boxes), 2, 0.5)
        assert isinstance(t, torch.Tensor) and t.dtype == torch.from_numpy(x).dtype
        np.testing.assert_array_equal(t.numpy(), out)
        g = roi_align_backward(torch.from_numpy(out), torch.from_numpy(boxes), x.shape, 0.5)
        assert isinstance(g, torch.Tensor) and g.shape == x.shape
    # Integer boxes and boxes of another float dtype are cast to the input's dtype.
    x = np.arange(2 * 16, dtype=np.float32).reshape(1, 2, 4, 4)
    np.testing.assert_array_equal(roi_align(x, [[0, 0, 0, 3, 3]], 2),
                                  roi_align(x, np.array([[0, 0, 0, 3, 3]], np.float64), 2))


def test_inputs_not_mutated():
    rng = np.random.default_rng(9)
    x, boxes = _inputs(rng, np.float32)
    boxes[0, 1] = np.nan
    x0, b0 = x.copy(), boxes.copy()
    out = roi_align(x, boxes, 3, 0.5, 2, True)
    grad = np.ones_like(out)
    g0 = grad.copy()
    roi_align_backward(grad, boxes, x.shape, 0.5, 2, True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(boxes, b0)
    np.testing.assert_array_equal(grad, g0)


# ---- errors ---------------------------------------------------------------------------------------


def _call(**changes):
    args = dict(input=np.zeros((2, 3, 4, 5), np.float32), boxes=np.array([[1, 0, 0, 2, 2]], np.float32),
                output_size=2, spatial_scale=1.0, sampling_ratio=-1, aligned=False)
    args.update(changes)
    return roi_align(**args)


@pytest.mark.parametrize(
    "changes,error,match",
    [
        (dict(boxes=np.zeros((3, 4), np.float32)), ValueError, r"boxes must have shape \(K, 5\).*\(3, 4\)"),
        (dict(boxes=np.zeros(5, np.float32)), ValueError, "boxes must be 2-D"),
        (dict(boxes=np.array([[2, 0, 0, 1, 1]], np.float32)), ValueError, r"batch index in \[0, 2\), got 2"),
        (dict(boxes=np.array([[-1, 0, 0, 1, 1]], np.float32)), ValueError, "batch index"),
        (dict(boxes=np.array([[np.nan, 0, 0, 1, 1]], np.float32)), ValueError, "batch index.*nan"),
        (dict(boxes=np.array([["a", 0, 0, 1, 1]])), TypeError, "boxes must be a real-valued array"),
        (dict(input=np.zeros((3, 4, 5), np.float32)), ValueError, "input must be 4-D"),
        (dict(input=np.zeros((2, 3, 4, 5), np.int32)), TypeError, "input must have dtype in"),
        (dict(input=np.zeros((2, 3, 4, 5), np.float16)), TypeError, "input must have dtype in"),
        (dict(input=[[1.0]]), ValueError, "input must be 4-D"),
        (dict(input="features"), TypeError, "input must have dtype in"),
        (dict(input={"x": 1}), TypeError, "input must be a numpy.ndarray or torch.Tensor, got dict"),
        (dict(input=np.zeros((2, 3, 0, 5), np.float32)), ValueError, "height and width >= 1"),
        (dict(output_size=0), ValueError, r"output_size must be >= 1, got \(0, 0\)"),
        (dict(output_size=(2, 3, 4)), TypeError, "output_size must be an int or a pair"),
        (dict(output_size=2.5), TypeError, "output_size must be an int or a pair"),
        (dict(spatial_scale=0.0), ValueError, "spatial_scale must be finite and > 0, got 0.0"),
        (dict(spatial_scale=float("nan")), ValueError, "spatial_scale must be finite"),
        (dict(spatial_scale="1"), TypeError, "spatial_scale must be a real number"),
        (dict(sampling_ratio=1.5), TypeError, "sampling_ratio must be an int"),
        (dict(aligned=1), TypeError, "aligned must be a bool"),
        (dict(backend="gpu"), ValueError, "backend must be one of"),
    ],
)
def test_errors(changes, error, match):
    with pytest.raises(error, match=match):
        _call(**changes)


def test_errors_name_the_op():
    with pytest.raises(ValueError, match=r"^roi_align: boxes must have shape"):
        _call(boxes=np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"^roi_align_backward: grad_output must have shape"):
        roi_align_backward(np.zeros((2, 3, 2, 2), np.float32), np.array([[0, 0, 0, 1, 1]], np.float32),
                           (1, 3, 4, 4))
    with pytest.raises(ValueError, match="roi_align_backward: boxes.*batch index"):
        roi_align_backward(np.zeros((1, 3, 2, 2), np.float32), np.array([[1, 0, 0, 1, 1]], np.float32),
                           (1, 3, 4, 4))
    with pytest.raises(TypeError, match="input_shape must be 4 ints"):
        roi_align_backward(np.zeros((1, 3, 2, 2), np.float32), np.zeros((1, 5), np.float32), (3, 4, 4))


@pytest.mark.skipif(_backend.HAS_CUDA, reason="checks the no-GPU error path")
def test_cuda_backend_unavailable_says_why():
    with pytest.raises(RuntimeError, match="roi_align: backend 'cuda' is not available: "):
        _call(backend="cuda")


# ---- fast path vs element function; emulated device schedules ------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aligned,ratio", [(False, -1), (True, 0), (True, 2)])
def test_fast_path_equals_element_loop(dtype, aligned, ratio):
    rng = np.random.default_rng(10)
    x, boxes = _inputs(rng, dtype, c=19, k=25)  # 19 channels: a partial channel block
    boxes[3, 2] = np.nan
    boxes[4, 3] = np.inf
    fast = _core.roi_align_forward(x, boxes, 3, 4, 0.5, ratio, aligned)
    elements = _core.testing.roi_align_forward_elements(x, boxes, 3, 4, 0.5, ratio, aligned)
    # The fast path sums the same terms in another order (separable weights): equal to rounding.
    np.testing.assert_allclose(fast, elements, **_tol("forward", dtype))
    assert np.array_equal(np.isnan(fast), np.isnan(elements))
    # Non-finite map values reach exactly the same bins through both paths.
    x[0, 1, 4, 3] = np.nan
    x[1, 2, 6, 5] = np.inf
    x[0, 0, 0, 0] = -np.inf
    fast = _core.roi_align_forward(x, boxes, 3, 4, 0.5, ratio, aligned)
    elements = _core.testing.roi_align_forward_elements(x, boxes, 3, 4, 0.5, ratio, aligned)
    assert np.isnan(elements).any()
    np.testing.assert_allclose(fast, elements, equal_nan=True, **_tol("forward", dtype))


def test_fast_path_wide_map_and_large_grids():
    rng = np.random.default_rng(20)
    x = rng.standard_normal((1, 3, 5, 3000)).astype(np.float32)
    boxes = np.array([[0, -10, 0, 3010, 5], [0, 100, 1, 2900, 3], [0, 2990, -2, 2980, 7]], np.float32)
    for ratio, aligned in ((-1, False), (3, True), (0, True)):
        fast = roi_align(x, boxes, (2, 7), 1.0, ratio, aligned)
        elements = _core.testing.roi_align_forward_elements(x, boxes, 2, 7, 1.0, ratio, aligned)
        np.testing.assert_allclose(fast, elements, **_tol("forward", np.float32))
        # Not the inverted last box: torchvision's CPU kernel throws on it when aligned and the grid
        # is adaptive (a negative grid size overflows its precomputation's vector size).
        np.testing.assert_allclose(fast[:2], _tv_forward(x, boxes[:2], (2, 7), 1.0, ratio, aligned),
                                   **_tol("forward", np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("aligned,ratio", [(False, -1), (True, 2)])
def test_backward_in_shuffled_and_reversed_order_matches(dtype, aligned, ratio):
    rng = np.random.default_rng(11)
    x, boxes = _inputs(rng, dtype, c=19, k=25)
    boxes[3, 2] = np.nan
    n, c, h, w = x.shape
    grad = rng.standard_normal((len(boxes), c, 3, 4)).astype(dtype)
    args = (grad, boxes, n, c, h, w, 0.5, ratio, aligned)
    fast = _core.roi_align_backward(*args)
    count = grad.size
    in_order = _core.testing.roi_align_backward_elements(*args, order=np.arange(count))
    # The fast path adds each element's contributions in RoI order, like the sequential loop.
    np.testing.assert_array_equal(fast, in_order)
    for order in (rng.permutation(count), np.arange(count)[::-1].copy(), None):
        emulated = _core.testing.roi_align_backward_elements(*args, order=order)
        np.testing.assert_allclose(emulated, fast, **_tol("backward", dtype))


def test_emulated_order_must_be_a_permutation():
    x = np.zeros((1, 1, 3, 3), np.float32)
    grad = np.ones((1, 1, 2, 2), np.float32)
    boxes = np.array([[0, 0, 0, 2, 2]], np.float32)
    with pytest.raises(ValueError, match=r"order must be a permutation of range\(4\)"):
        _core.testing.roi_align_backward_elements(grad, boxes, 1, 1, 3, 3, 1.0, -1, False,
                                                  order=np.array([0, 1, 1, 2]))
    assert x.sum() == 0


# ---- multilevel ---------------------------------------------------------------------------------


def _pyramid(rng, dtype=np.float32, n=2, c=4, image=256, levels=4):
    scales = [2.0 ** -(2 + i) for i in range(levels)]
    feats = [rng.standard_normal((n, c, int(image * s), int(image * s))).astype(dtype) for s in scales]
    return feats, scales


def _fpn_boxes(rng, k, image, n, dtype=np.float32):
    """Boxes from 4 to 700 px, so that every FPN level gets some."""
    side = np.exp(rng.uniform(np.log(4), np.log(700), (k, 2)))
    centre = rng.uniform(0, image, (k, 2))
    idx = rng.integers(0, n, (k, 1))
    return np.concatenate([idx, centre - side / 2, centre + side / 2], 1).astype(dtype)


def _tv_multiscale(feats, boxes, size, ratio, image, grad=None):
    names = [str(i) for i in range(len(feats))]
    pooler = torchvision.ops.MultiScaleRoIAlign(names, size, ratio)
    tensors = [torch.from_numpy(f).requires_grad_(grad is not None) for f in feats]
    per_image = [torch.from_numpy(boxes[boxes[:, 0] == i, 1:]) for i in range(feats[0].shape[0])]
    out = pooler(dict(zip(names, tensors)), per_image, [(image, image)] * feats[0].shape[0])
    # torchvision pools the boxes grouped by image; map back to the rows' original order.
    order = np.concatenate([np.nonzero(boxes[:, 0] == i)[0] for i in range(feats[0].shape[0])])
    if grad is not None:
        out.backward(torch.from_numpy(grad[order]))
        return [t.grad.numpy() for t in tensors]
    result = np.empty(out.shape, np.float32)
    result[order] = out.detach().numpy()
    return result


def test_multilevel_matches_torchvision_multiscale_roi_align():
    rng = np.random.default_rng(12)
    image = 256
    feats, scales = _pyramid(rng, image=image)
    boxes = _fpn_boxes(rng, 60, image, 2)
    boxes[0] = [1, 30, 40, 20, 90]  # inverted (negative area): no level, zeros in both
    boxes[1:5] = [[0, 10, 10, 30, 40], [1, 50, 60, 200, 180], [0, 0, 0, 300, 320],
                  [1, -100, -120, 400, 390]]  # one box per level
    levels = _core.multilevel_roi_align_levels(boxes, scales, 224.0, 4.0)
    assert set(levels.tolist()) == {-1, 0, 1, 2, 3}
    for size, ratio in ((7, 2), ((5, 4), -1)):
        out = multilevel_roi_align(feats, boxes, size, scales, ratio)
        np.testing.assert_allclose(out, _tv_multiscale(feats, boxes, size, ratio, image),
                                   **_tol("forward", np.float32))
        np.testing.assert_array_equal(out[0], 0)
        grad = rng.standard_normal(out.shape).astype(np.float32)
        got = multilevel_roi_align_backward(grad, boxes, [f.shape for f in feats], scales, ratio)
        want = _tv_multiscale(feats, boxes, size, ratio, image, grad=grad)
        for g, w_ in zip(got, want):
            np.testing.assert_allclose(g, w_, **_tol("backward", np.float32))


def test_multilevel_levels_match_torchvision_level_mapper():
    from torchvision.ops.poolers import LevelMapper

    rng = np.random.default_rng(13)
    boxes = _fpn_boxes(rng, 500, 1024, 1)
    boxes[:3, 3] = boxes[:3, 1]  # zero area
    mapper = LevelMapper(2, 5, canonical_scale=224, canonical_level=4)
    expected = mapper([torch.from_numpy(boxes[:, 1:])]).numpy()
    np.testing.assert_array_equal(
        _core.multilevel_roi_align_levels(boxes, [1 / 4, 1 / 8, 1 / 16, 1 / 32], 224.0, 4.0), expected
    )
    scales = [1 / 4, 1 / 8, 1 / 16, 1 / 32]
    assert [fpn_level_ref(b, scales) for b in boxes.astype(np.float64)] == expected.tolist()


def test_multilevel_matches_reference_float64():
    rng = np.random.default_rng(14)
    feats, scales = _pyramid(rng, np.float64, n=2, c=2, image=64, levels=3)
    boxes = _fpn_boxes(rng, 8, 64, 2, np.float64)
    boxes[1] = [0, 5, 5, np.nan, 9]
    out = multilevel_roi_align(feats, boxes, 3, scales, 2, canonical_size=24, canonical_level=3,
                               aligned=True)
    ref = multilevel_roi_align_ref(feats, boxes, 3, scales, 2, canonical_size=24, canonical_level=3,
                                   aligned=True)
    np.testing.assert_allclose(out, ref, **_tol("forward", np.float64))


def test_multilevel_single_level_equals_roi_align():
    rng = np.random.default_rng(15)
    x, boxes = _inputs(rng, np.float32, k=10)
    boxes[0] = [0, 9, 9, 2, 2]  # inverted: a single level still takes it, as torchvision does
    np.testing.assert_array_equal(multilevel_roi_align([x], boxes, 3, [0.5], 2),
                                  roi_align(x, boxes, 3, 0.5, 2))


@pytest.mark.parametrize(
    "changes,error,match",
    [
        (dict(scales=[0.25, 0.25]), ValueError, r"scales must be powers of two halving.*\[0.25, 0.25\]"),
        (dict(scales=[0.3, 0.15]), ValueError, "scales must be powers of two halving"),
        (dict(scales=[0.25, 0.125, 0.0625]), ValueError, "features and scales must have the same length"),
        (dict(scales=[]), ValueError, "scales must name at least one level"),
        (dict(scales="0.25"), TypeError, "scales must be a list of floats"),
        (dict(canonical_size=0), ValueError, "canonical_size must be a finite number > 0"),
        (dict(features=np.zeros((2, 3, 8, 8), np.float32)), TypeError, "features must be a list"),
        (dict(features=[np.zeros((2, 3, 8, 8), np.float32), np.zeros((2, 4, 4, 4), np.float32)]),
         ValueError, r"features\[1\] must have shape \(N, C, H, W\) with the N and C of features\[0\]"),
        (dict(features=[np.zeros((2, 3, 8, 8), np.float32), np.zeros((2, 3, 4, 4), np.float64)]),
         ValueError, "all features must have the same dtype"),
        (dict(boxes=np.array([[3, 0, 0, 1, 1]], np.float32)), ValueError, "batch index"),
    ],
)
def test_multilevel_errors(changes, error, match):
    args = dict(features=[np.zeros((2, 3, 8, 8), np.float32), np.zeros((2, 3, 4, 4), np.float32)],
                boxes=np.array([[1, 0, 0, 4, 4]], np.float32), output_size=2, scales=[0.25, 0.125],
                sampling_ratio=2)
    args.update(changes)
    with pytest.raises(error, match=match):
        multilevel_roi_align(**args)


# ---- torch.library integration --------------------------------------------------------------------


def _torch_case(dtype=torch.float64):
    g = torch.Generator().manual_seed(16)
    x = torch.randn(2, 3, 6, 7, dtype=dtype, generator=g)
    boxes = torch.tensor([[0, 1.3, 2.2, 9.7, 11.1], [1, -2.4, -1.1, 5.3, 4.6], [1, 6.1, 3.3, 13.9, 9.2]],
                         dtype=dtype)
    return x, boxes


@pytest.mark.parametrize("aligned,ratio", [(False, -1), (True, 2)])
def test_torch_gradcheck(aligned, ratio):
    from cellrt.torch.roi_align import roi_align as troi_align

    x, boxes = _torch_case()
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: troi_align(t, boxes, (3, 2), 0.5, ratio, aligned), (x,))


def test_torch_multilevel_gradcheck():
    from cellrt.torch.roi_align import multilevel_roi_align as tmulti

    g = torch.Generator().manual_seed(17)
    fine = torch.randn(1, 2, 8, 8, dtype=torch.float64, generator=g, requires_grad=True)
    coarse = torch.randn(1, 2, 4, 4, dtype=torch.float64, generator=g, requires_grad=True)
    boxes = torch.tensor([[0, 1.3, 2.2, 9.7, 11.1], [0, 2.1, 1.7, 29.3, 27.6]], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda a, b: tmulti([a, b], boxes, 2, [0.25, 0.125], 2, canonical_size=16, canonical_level=3),
        (fine, coarse),
    )


# opcheck's own aot_dispatch test reads .grad of a non-leaf tensor with requires_grad inputs (torch
# 2.14 warns even for a trivial x * 2 custom op); the warning is torch's, not ours.
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")
def test_torch_opcheck():
    x, boxes = _torch_case()
    x.requires_grad_(True)
    ops = torch.ops.cellrt
    torch.library.opcheck(ops.roi_align.default, (x, boxes, [3, 2], 0.5, 2, True))
    grad = torch.randn(3, 3, 3, 2, dtype=torch.float64)
    torch.library.opcheck(ops.roi_align_backward.default, (grad, boxes, [2, 3, 6, 7], 0.5, 2, True))
    feats = [torch.randn(2, 3, 8, 8, dtype=torch.float64, requires_grad=True),
             torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)]
    torch.library.opcheck(ops.multilevel_roi_align.default,
                          (feats, boxes, [2, 2], [0.25, 0.125], 2, 16.0, 3.0, False))
    torch.library.opcheck(ops.multilevel_roi_align_backward.default,
                          (torch.randn(3, 3, 2, 2, dtype=torch.float64), boxes,
                           [2, 3, 8, 8, 2, 3, 4, 4], [0.25, 0.125], 2, 16.0, 3.0, False))


def test_torch_autograd_matches_torchvision():
    from cellrt.torch.roi_align import roi_align as troi_align

    x, boxes = _torch_case(torch.float32)
    ours = x.clone().requires_grad_(True)
    theirs = x.clone().requires_grad_(True)
    out = troi_align(ours, boxes, 3, 0.5, 2, True)
    ref = torchvision.ops.roi_align(theirs, boxes, 3, 0.5, 2, True)
    torch.testing.assert_close(out, ref, **_tol("forward", torch.float32))
    grad = torch.randn_like(out)
    out.backward(grad)
    ref.backward(grad)
    torch.testing.assert_close(ours.grad, theirs.grad, **_tol("backward", torch.float32))


# ---- CUDA (skipped without a usable GPU) -----------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.float64])
def test_cuda_matches_cpu(dtype):
    rng = np.random.default_rng(18)
    x, boxes = _inputs(rng, np.float32, c=8, k=40)
    cpu = roi_align(x, boxes, 3, 0.5, 2, True)
    xc = torch.from_numpy(x).to("cuda", dtype)
    out = roi_align(xc, torch.from_numpy(boxes).cuda(), 3, 0.5, 2, True)
    assert out.is_cuda and out.dtype == dtype
    t = _tol("forward", dtype)
    np.testing.assert_allclose(out.float().cpu().numpy(), cpu, **t)
    grad = np.ones_like(cpu)
    g_cpu = roi_align_backward(grad, boxes, x.shape, 0.5, 2, True)
    g = roi_align_backward(torch.from_numpy(grad).to("cuda", dtype), torch.from_numpy(boxes).cuda(),
                           x.shape, 0.5, 2, True)
    np.testing.assert_allclose(g.float().cpu().numpy(), g_cpu, rtol=1e-2 if dtype == torch.float16 else 1e-4,
                               atol=1e-2 if dtype == torch.float16 else 1e-4)


@pytest.mark.cuda
def test_cuda_multilevel_and_gradcheck():
    from cellrt.torch.roi_align import roi_align as troi_align

    rng = np.random.default_rng(19)
    feats, scales = _pyramid(rng, image=128)
    boxes = _fpn_boxes(rng, 30, 128, 2)
    cpu = multilevel_roi_align(feats, boxes, 3, scales, 2)
    gpu = multilevel_roi_align([torch.from_numpy(f).cuda() for f in feats], torch.from_numpy(boxes).cuda(),
                               3, scales, 2)
    np.testing.assert_allclose(gpu.cpu().numpy(), cpu, **_tol("forward", np.float32))
    x, b = _torch_case()
    x = x.cuda().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: troi_align(t, b.cuda(), 2, 0.5, 2, True), (x,))
