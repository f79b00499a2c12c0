"""label, relabel_sequential, remove_small_objects, fill_holes: parity with scikit-image / scipy /
OpenCV and the references, the GPU step functions emulated on the CPU in shuffled order, edge
cases, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
from skimage.measure import label as sk_label
from skimage.morphology import remove_small_objects as sk_remove_small_objects
from skimage.segmentation import relabel_sequential as sk_relabel_sequential

import cellrt.ops as ops
from cellrt import _backend, _core
from cellrt.reference.label_ref import (
    fill_holes_ref,
    label_ref,
    relabel_sequential_ref,
    remove_small_objects_ref,
)
from tests.python.ops._threads import num_threads


def cell_mask(h, w, n, rng, rmin=3, rmax=12):
    """Overlapping random discs: nucleus-like blobs that sometimes merge into clumps."""
    yy, xx = np.mgrid[:h, :w]
    m = np.zeros((h, w), bool)
    for y, x, r in zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(rmin, rmax, n)):
        m |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
    return m


def cell_labels(h, w, n, rng, rmin=3, rmax=12):
    """Label image of random discs; later discs overwrite earlier ones."""
    yy, xx = np.mgrid[:h, :w]
    lab = np.zeros((h, w), np.int32)
    for k, (y, x, r) in enumerate(
        zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(rmin, rmax, n)), start=1
    ):
        lab[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = k
    return lab


def canonical(labels):
    """Renumber by raster order of first appearance: equality up to label permutation."""
    flat = np.asarray(labels).ravel()
    values, first = np.unique(flat, return_index=True)
    order = values[np.argsort(first)]
    lut = {v: i for i, v in enumerate(o for o in order if o != 0)}
    return np.array([0 if v == 0 else lut[v] + 1 for v in flat]).reshape(np.shape(labels))


@pytest.fixture
def two_threads():
    with num_threads(2):
        yield


# ---------------------------------------------------------------------------------------------
# label
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("density", [0.05, 0.3, 0.5, 0.6, 0.95])
def test_label_equals_skimage_on_random_masks(connectivity, density, two_threads):
    rng = np.random.default_rng(int(density * 100) + connectivity)
    for shape in [(300, 257), (37, 64), (64, 65)]:
        mask = rng.random(shape) < density
        got = ops.label(mask, connectivity)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, sk_label(mask, connectivity=connectivity))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_equals_reference(connectivity):
    rng = np.random.default_rng(connectivity)
    for _ in range(10):
        shape = tuple(rng.integers(1, 24, 2))
        mask = rng.random(shape) < rng.random()
        np.testing.assert_array_equal(ops.label(mask, connectivity), label_ref(mask, connectivity))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_cell_like_matches_skimage_scipy_opencv(connectivity, two_threads):
    cv2 = pytest.importorskip("cv2")
    mask = cell_mask(384, 448, 300, np.random.default_rng(7))
    got = ops.label(mask, connectivity=connectivity)
    np.testing.assert_array_equal(got, sk_label(mask, connectivity=connectivity))
    sp, n = ndi.label(mask, ndi.generate_binary_structure(2, connectivity))
    assert got.max() == n
    np.testing.assert_array_equal(canonical(got), canonical(sp))
    n_cv, cv = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4 * connectivity)
    assert n_cv - 1 == n
    np.testing.assert_array_equal(canonical(got), canonical(cv))


# Threads (one row strip each, joined along strip boundaries) start at 2**23 pixels.
BIG = (4096, 2048)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_threads_do_not_change_result(connectivity):
    mask = np.random.default_rng(3).random(BIG, dtype=np.float32) < 0.55
    with num_threads(1):
        one = ops.label(mask, connectivity)
    with num_threads(2):
        two = ops.label(mask, connectivity)
    np.testing.assert_array_equal(one, two)
    sp, n = ndi.label(mask, ndi.generate_binary_structure(2, connectivity))
    assert n == two.max()
    np.testing.assert_array_equal(two, sp)  # scipy numbers in raster order as well


def test_label_strip_boundary_merges_components(two_threads):
    # U shapes whose arms only meet in the last row, and diagonal steps across the strip boundary
    # at row 2048: labels found in the upper strip must be joined through the boundary.
    h, w = BIG
    mask = np.zeros((h, w), bool)
    mask[:, 3] = mask[:, 9] = True
    mask[h - 1, 3:10] = True
    mask[:, 20] = True
    mask[2047, 30] = mask[2048, 31] = True  # 8-connected only
    mask[2040:2048, 40] = True
    mask[2048:2060, 41] = True  # 8-connected to column 40's run
    mask[2047, 50:60] = mask[2048, 55:70] = True  # 4-connected through the boundary
    for c in (1, 2):
        np.testing.assert_array_equal(ops.label(mask, c), sk_label(mask, connectivity=c))


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((1, 1), bool),
        np.ones((1, 1), bool),
        np.zeros((50, 70), bool),
        np.ones((50, 70), bool),
        np.ones((300, 70), bool),
        np.array([[1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1]], bool),
        np.array([[1, 0, 1, 1, 0, 1, 1, 1, 0, 0, 1]], bool).T,
        np.eye(9, dtype=bool),
        np.eye(9, dtype=bool)[::-1],
    ],
    ids=["1x1-bg", "1x1-fg", "all-bg", "all-fg", "all-fg-tall", "1xN", "Nx1", "diag", "antidiag"],
)
@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_edge_cases(mask, connectivity):
    np.testing.assert_array_equal(
        ops.label(mask, connectivity), sk_label(mask, connectivity=connectivity)
    )


def test_label_widths_around_the_64_pixel_word():
    rng = np.random.default_rng(11)
    for w in (1, 2, 63, 64, 65, 127, 128, 129, 200):
        mask = rng.random((5, w)) < 0.6
        mask[:, -1] = True  # runs that end exactly at the row's end
        for c in (1, 2):
            np.testing.assert_array_equal(ops.label(mask, c), sk_label(mask, connectivity=c))


def test_label_empty_image():
    for shape in [(0, 5), (5, 0), (0, 0)]:
        out = ops.label(np.zeros(shape, bool))
        assert out.shape == shape and out.dtype == np.int32


@pytest.mark.parametrize(
    "dtype", [np.bool_, np.uint8, np.int8, np.int32, np.uint16, np.int64, np.float32, np.float64]
)
def test_label_dtypes_nonzero_is_foreground(dtype):
    rng = np.random.default_rng(5)
    values = rng.integers(-3, 4, (40, 50))
    arr = (values if np.dtype(dtype).kind in "if" else np.abs(values)).astype(dtype)
    np.testing.assert_array_equal(ops.label(arr), sk_label(arr != 0, connectivity=1))


def test_label_uint8_255_and_float_nan_are_foreground():
    a = np.array([[255, 0, 7], [0, 0, 1]], np.uint8)
    np.testing.assert_array_equal(ops.label(a), [[1, 0, 2], [0, 0, 2]])
    f = np.array([[np.nan, 0.0, -0.5], [np.inf, 0.0, 0.0]], np.float32)
    np.testing.assert_array_equal(ops.label(f), [[1, 0, 2], [1, 0, 0]])


def test_label_non_contiguous_input_and_not_mutated():
    rng = np.random.default_rng(9)
    base = rng.random((120, 90)) < 0.4
    for view in (base.T, base[::2, ::3], base[:, 10:50]):
        assert not view.flags.c_contiguous
        before = view.copy()
        np.testing.assert_array_equal(ops.label(view, 2), sk_label(view, connectivity=2))
        np.testing.assert_array_equal(view, before)


def test_label_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    mask = np.random.default_rng(2).random((60, 70)) < 0.5
    t = torch.from_numpy(mask).permute(1, 0)  # non-contiguous tensor
    out = ops.label(t, 2)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32
    np.testing.assert_array_equal(out.numpy(), sk_label(mask.T, connectivity=2))


def test_label_errors():
    with pytest.raises(ValueError, match=r"label: binary must be 2-D, got shape \(2, 3, 4\)"):
        ops.label(np.zeros((2, 3, 4), bool))
    with pytest.raises(ValueError, match=r"label: binary must be 2-D"):
        ops.label(np.zeros(5, bool))
    with pytest.raises(
        ValueError, match=r"label: connectivity must be 1 \(4-neighbour\) or 2 .* got 3"
    ):
        ops.label(np.zeros((2, 2), bool), connectivity=3)
    with pytest.raises(TypeError, match=r"label: connectivity must be an int"):
        ops.label(np.zeros((2, 2), bool), connectivity=1.0)
    with pytest.raises(TypeError, match=r"label: binary must be a bool, integer or float array"):
        ops.label(np.zeros((2, 2), complex))
    with pytest.raises(TypeError, match=r"label: binary must be a numpy.ndarray or torch.Tensor"):
        ops.label(object())
    with pytest.raises(ValueError, match=r"label: backend must be one of"):
        ops.label(np.zeros((2, 2), bool), backend="gpu")
    # The binding checks too, for direct callers of _core.
    with pytest.raises(ValueError, match=r"label: connectivity must be 1"):
        _core.label(np.zeros((2, 2), np.uint8), 0)


@pytest.mark.skipif(_backend.HAS_CUDA, reason="checks the message given when CUDA is unusable")
def test_label_cuda_backend_unavailable_says_why():
    with pytest.raises(RuntimeError, match=r"label: backend 'cuda' is not available: "):
        ops.label(np.zeros((2, 2), bool), backend="cuda")


# --- the GPU algorithm, its step functions emulated on the CPU --------------------------------


def _orders(n, rng):
    return {"shuffled": rng.permutation(n), "reversed": np.arange(n)[::-1].copy()}


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_label_device_steps_in_any_order_equal_cpu_path(connectivity, num_threads):
    rng = np.random.default_rng(20 + connectivity)
    masks = [
        rng.random((90, 110)) < 0.5,
        rng.random((64, 64)) < 0.62,  # near the percolation threshold: long chains of hooks
        cell_mask(160, 140, 60, rng),
        np.ones((40, 33), bool),
        np.zeros((7, 9), bool),
    ]
    for mask in masks:
        fg = mask.astype(np.uint8)
        cpu = ops.label(mask, connectivity)
        for name, order in _orders(fg.size, rng).items():
            dev = _core.testing.label_emulate_device(fg, connectivity, order, num_threads)
            # Roots are first pixels, so even the numbering matches, not just the partition.
            np.testing.assert_array_equal(dev, cpu, err_msg=name)


def test_label_emulation_rejects_bad_order():
    fg = np.ones((3, 3), np.uint8)
    with pytest.raises(ValueError, match=r"order must be a permutation of 0..8"):
        _core.testing.label_emulate_device(fg, 1, np.zeros(9, np.int64))
    with pytest.raises(ValueError, match=r"order must have shape \(9,\)"):
        _core.testing.label_emulate_device(fg, 1, np.arange(8))


@pytest.mark.cuda
@pytest.mark.parametrize("connectivity", [1, 2])
def test_label_cuda_equals_cpu(connectivity):
    torch = pytest.importorskip("torch")
    mask = cell_mask(300, 257, 120, np.random.default_rng(1))
    got = ops.label(torch.from_numpy(mask).cuda(), connectivity)
    np.testing.assert_array_equal(got.cpu().numpy(), ops.label(mask, connectivity))


# ---------------------------------------------------------------------------------------------
# relabel_sequential
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.int64, np.uint32])
def test_relabel_sequential_equals_skimage(dtype):
    rng = np.random.default_rng(4)
    values = np.array([0, 3, 5, 9, 40, 41, 100, 120])
    lab = rng.choice(values, (50, 60)).astype(dtype)
    got = ops.relabel_sequential(lab)
    assert got.dtype == lab.dtype
    np.testing.assert_array_equal(got, sk_relabel_sequential(lab)[0])
    np.testing.assert_array_equal(got, relabel_sequential_ref(lab))


def test_relabel_sequential_cell_labels_and_shapes():
    rng = np.random.default_rng(8)
    lab = cell_labels(200, 180, 150, rng)
    lab[lab % 3 == 0] = 0  # gaps in the numbering
    np.testing.assert_array_equal(ops.relabel_sequential(lab), sk_relabel_sequential(lab)[0])
    # Any shape: the op only looks at values.
    for arr in (lab[:, 5], lab.reshape(2, 100, 180), lab[:0]):
        np.testing.assert_array_equal(ops.relabel_sequential(arr), relabel_sequential_ref(arr))


def test_relabel_sequential_sparse_values_use_compaction():
    # Values far above the pixel count: tables indexed by value would be huge, so the values
    # are compacted first.
    lab = np.array([[0, 10**12, 7], [2**40, 7, 0]], np.int64)
    np.testing.assert_array_equal(ops.relabel_sequential(lab), [[0, 2, 1], [3, 1, 0]])
    lab32 = np.array([[2**31 - 1, 0, 5]], np.int32)
    np.testing.assert_array_equal(ops.relabel_sequential(lab32), [[2, 0, 1]])
    u64 = np.array([[2**63 - 1, 0]], np.uint64)
    np.testing.assert_array_equal(ops.relabel_sequential(u64), [[1, 0]])


def test_relabel_sequential_non_contiguous_torch_and_not_mutated():
    torch = pytest.importorskip("torch")
    lab = cell_labels(64, 80, 30, np.random.default_rng(0)) * 3
    t = torch.from_numpy(lab).permute(1, 0)
    before = t.clone()
    out = ops.relabel_sequential(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32
    np.testing.assert_array_equal(out.numpy(), sk_relabel_sequential(lab.T)[0])
    assert torch.equal(t, before)


def test_relabel_sequential_errors():
    with pytest.raises(
        ValueError, match=r"relabel_sequential: labels must be non-negative, got minimum -2"
    ):
        ops.relabel_sequential(np.array([[0, -2]], np.int32))
    with pytest.raises(
        TypeError, match=r"relabel_sequential: labels must be an integer label image, got bool"
    ):
        ops.relabel_sequential(np.zeros((2, 2), bool))
    with pytest.raises(
        TypeError, match=r"relabel_sequential: labels must have an integer dtype, got float32"
    ):
        ops.relabel_sequential(np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"labels must be < 2\*\*63"):
        ops.relabel_sequential(np.array([2**63], np.uint64))


# ---------------------------------------------------------------------------------------------
# remove_small_objects
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("min_size", [0, 1, 2, 30, 100, 400, 10**6])
def test_remove_small_objects_equals_skimage(min_size):
    rng = np.random.default_rng(min_size % 97)
    lab = cell_labels(160, 150, 120, rng, rmin=1, rmax=14)
    lab[rng.random(lab.shape) < 0.01] = 500  # a scattered, unconnected instance of ~240 px
    got = ops.remove_small_objects(lab, min_size)
    assert got.dtype == lab.dtype
    np.testing.assert_array_equal(got, remove_small_objects_ref(lab, min_size))
    if min_size >= 1:
        # skimage >= 0.26 removes area <= max_size; its old min_size (area < min_size) warns.
        expected = sk_remove_small_objects(lab, max_size=min_size - 1)
        np.testing.assert_array_equal(got, expected)


def test_remove_small_objects_keeps_values_dtypes_and_sparse_values():
    lab = np.array([[1, 1, 0, 9], [1, 0, 9, 9], [4, 0, 0, 9]], np.uint16)
    got = ops.remove_small_objects(lab, 3)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, [[1, 1, 0, 9], [1, 0, 9, 9], [0, 0, 0, 9]])
    sparse = lab.astype(np.int64) * 10**11
    np.testing.assert_array_equal(ops.remove_small_objects(sparse, 4), (got == 9) * 9 * 10**11)


def test_remove_small_objects_not_mutated_torch():
    torch = pytest.importorskip("torch")
    lab = cell_labels(50, 60, 20, np.random.default_rng(1), rmin=1, rmax=8)
    t = torch.from_numpy(lab.astype(np.int64))
    before = t.clone()
    out = ops.remove_small_objects(t, 50)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int64
    np.testing.assert_array_equal(out.numpy(), remove_small_objects_ref(lab, 50))
    assert torch.equal(t, before)


def test_remove_small_objects_errors():
    lab = np.zeros((3, 3), np.int32)
    with pytest.raises(ValueError, match=r"remove_small_objects: min_size must be >= 0, got -1"):
        ops.remove_small_objects(lab, -1)
    with pytest.raises(
        TypeError, match=r"remove_small_objects: min_size must be an int, got float"
    ):
        ops.remove_small_objects(lab, 2.5)
    with pytest.raises(ValueError, match=r"remove_small_objects: labels must be non-negative"):
        ops.remove_small_objects(lab - 1, 2)
    with pytest.raises(
        TypeError, match=r"remove_small_objects: labels must be an integer label image"
    ):
        ops.remove_small_objects(lab > 0, 2)


def test_relabel_sequential_threads_do_not_change_result():
    tile = cell_labels(256, 256, 40, np.random.default_rng(13)) * 7
    lab = np.tile(tile, (BIG[0] // 256, BIG[1] // 256))  # 2**23 pixels: per-thread histograms
    with num_threads(1):
        one = ops.relabel_sequential(lab)
    with num_threads(2):
        two = ops.relabel_sequential(lab)
        small = ops.remove_small_objects(lab, 200)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(two[:256, :256], sk_relabel_sequential(tile)[0])
    area = np.bincount(lab.ravel())
    np.testing.assert_array_equal(small, np.where(area[lab] >= 200, lab, 0))


def test_label_histogram_device_element_in_any_order_equals_cpu():
    rng = np.random.default_rng(6)
    lab = cell_labels(120, 100, 80, rng)
    cpu = _core.testing.label_histogram(lab, lab.max() + 3)
    expected = np.bincount(lab.ravel(), minlength=lab.max() + 3)
    expected[0] = 0
    np.testing.assert_array_equal(cpu, expected)
    for order in _orders(lab.size, rng).values():
        np.testing.assert_array_equal(_core.testing.label_histogram(lab, lab.max() + 3, order), cpu)


# ---------------------------------------------------------------------------------------------
# fill_holes
# ---------------------------------------------------------------------------------------------


def ring_labels(h, w, n, rng):
    """Non-overlapping rings and discs with random background holes: every hole is pure
    background inside one instance, where the rule equals per-instance binary_fill_holes."""
    yy, xx = np.mgrid[:h, :w]
    lab = np.zeros((h, w), np.int32)
    k = 0
    for _ in range(n):
        y, x, r = rng.integers(12, h - 12), rng.integers(12, w - 12), rng.integers(5, 12)
        disc = (yy - y) ** 2 + (xx - x) ** 2 <= r * r
        if (lab[(yy - y) ** 2 + (xx - x) ** 2 <= (r + 1) ** 2] != 0).any():
            continue
        k += 1
        lab[disc] = k
        lab[disc & (rng.random((h, w)) < 0.15)] = 0  # pepper holes
        if k % 2:
            lab[(yy - y) ** 2 + (xx - x) ** 2 <= (r // 2) ** 2] = 0  # a big central hole
    return lab


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16])
def test_fill_holes_equals_scipy_per_instance_on_pure_holes(dtype):
    lab = ring_labels(200, 220, 60, np.random.default_rng(3)).astype(dtype)
    expected = lab.copy()
    for v in np.unique(lab[lab > 0]):
        expected[ndi.binary_fill_holes(lab == v) & (lab == 0)] = v
    got = ops.fill_holes(lab)
    assert got.dtype == dtype
    assert (got != lab).sum() > 100  # the test does fill something
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, fill_holes_ref(lab))
    # The GPU's per-pixel element functions, run in shuffled order, agree with the run-based CPU.
    order = np.random.default_rng(0).permutation(lab.size)
    emu = _core.testing.fill_holes_emulate(lab.astype(np.int64), order)
    np.testing.assert_array_equal(emu, got)


def test_fill_holes_threads_do_not_change_result():
    tile = ring_labels(256, 256, 20, np.random.default_rng(4))
    reps = (BIG[0] // 256, BIG[1] // 256)
    lab = np.tile(tile, reps)  # 2**23 pixels: two row strips
    with num_threads(1):
        one = ops.fill_holes(lab)
    with num_threads(2):
        two = ops.fill_holes(lab)
    np.testing.assert_array_equal(one, two)
    # Rings stay inside their tile, so filling the mosaic fills every tile alike.
    np.testing.assert_array_equal(two, np.tile(ops.fill_holes(tile), reps))


def test_fill_holes_rule_cases():
    lab = np.array(
        [
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0, 2, 2, 3, 3],
            [0, 1, 0, 1, 0, 2, 0, 0, 3],  # (2,2): hole of 1; (2,6)-(2,7): enclosed by 2 and 3
            [0, 1, 1, 1, 0, 2, 2, 3, 3],
            [0, 0, 0, 0, 0, 0, 0, 0, 0],
            [4, 4, 4, 0, 5, 5, 5, 5, 5],
            [4, 0, 0, 0, 5, 0, 6, 0, 5],  # left: open to the border; right: around instance 6
            [4, 4, 4, 0, 5, 5, 5, 5, 5],
        ],
        np.int32,
    )
    want = lab.copy()
    want[2, 2] = 1
    np.testing.assert_array_equal(ops.fill_holes(lab), want)
    np.testing.assert_array_equal(fill_holes_ref(lab), want)
    # A diagonal neighbour of another instance does not matter (4-neighbourhood).
    lab2 = np.array([[0, 0, 0, 0, 0], [0, 2, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0], [0] * 5])
    want2 = lab2.copy()
    want2[2, 2] = 1
    np.testing.assert_array_equal(ops.fill_holes(lab2), want2)


def test_fill_holes_random_equals_reference_and_emulated_order():
    rng = np.random.default_rng(12)
    for _ in range(6):
        shape = tuple(rng.integers(3, 40, 2))
        lab = rng.integers(0, 4, shape) * (rng.random(shape) < 0.7)
        got = ops.fill_holes(lab)
        np.testing.assert_array_equal(got, fill_holes_ref(lab))
        for order in _orders(lab.size, rng).values():
            emu = _core.testing.fill_holes_emulate(lab.astype(np.int64), order)
            np.testing.assert_array_equal(emu, got)


def test_fill_holes_edge_cases_dtypes_torch():
    torch = pytest.importorskip("torch")
    for lab in (np.zeros((1, 1), np.int32), np.ones((4, 5), np.int32), np.zeros((0, 3), np.int32)):
        np.testing.assert_array_equal(ops.fill_holes(lab), lab)
    ring = np.ones((5, 5), np.uint8) * 7
    ring[2, 2] = 0
    got = ops.fill_holes(ring)
    assert got.dtype == np.uint8 and (got == 7).all()
    t = torch.from_numpy(ring.astype(np.int64)).permute(1, 0)
    out = ops.fill_holes(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int64 and (out == 7).all()
    assert t[2, 2] == 0


def test_fill_holes_errors():
    with pytest.raises(ValueError, match=r"fill_holes: labels must be 2-D, got shape \(2, 2, 2\)"):
        ops.fill_holes(np.zeros((2, 2, 2), np.int32))
    with pytest.raises(ValueError, match=r"fill_holes: labels must be non-negative"):
        ops.fill_holes(-np.ones((2, 2), np.int32))
    with pytest.raises(TypeError, match=r"fill_holes: labels must have an integer dtype"):
        ops.fill_holes(np.zeros((2, 2), np.float64))
