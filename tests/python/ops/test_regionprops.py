"""regionprops: parity with skimage.measure.regionprops_table and the reference, the GPU's atomic
element function emulated in shuffled order, edge cases, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.measure import regionprops_table

import cellrt.ops as ops
from cellrt import _backend, _core
from cellrt.reference.regionprops_ref import regionprops_ref
from tests.tolerances import tol
from tests.python.ops._threads import num_threads

KEYS = ("label", "area", "bbox", "centroid")


def nuclei(h, w, n, rng, rmin=2, rmax=14):
    """Label image of random discs (later ones overwrite earlier ones) with gaps in the ids."""
    yy, xx = np.mgrid[:h, :w]
    lab = np.zeros((h, w), np.int32)
    for k, (y, x, r) in enumerate(
        zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(rmin, rmax, n)), start=1
    ):
        lab[(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = 2 * k + 1
    return lab


def skimage_table(lab, intensity=None):
    props = ("label", "area", "bbox", "centroid")
    if intensity is not None:
        props += ("intensity_mean",)
    t = regionprops_table(lab, intensity, properties=props)
    out = {
        "label": t["label"],
        "area": t["area"],
        "bbox": np.stack([t[f"bbox-{k}"] for k in range(4)], 1),
        "centroid": np.stack([t["centroid-0"], t["centroid-1"]], 1),
    }
    if intensity is not None:
        c = 1 if intensity.ndim == 2 else intensity.shape[2]
        names = ["intensity_mean"] if c == 1 else [f"intensity_mean-{k}" for k in range(c)]
        out["mean_intensity"] = np.stack([t[n] for n in names], 1)
    return out


def assert_same(got, want, mean_tol=None):
    assert set(got) == set(want)
    for k in ("label", "area", "bbox"):
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    np.testing.assert_allclose(got["centroid"], want["centroid"], rtol=1e-12, atol=0)
    if "mean_intensity" in want:
        np.testing.assert_allclose(got["mean_intensity"], want["mean_intensity"],
                                   **(mean_tol or dict(rtol=1e-12, atol=1e-12)))
    if "class" in want:
        np.testing.assert_array_equal(got["class"], want["class"])


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_regionprops_equals_skimage_float32(channels):
    rng = np.random.default_rng(channels or 0)
    lab = nuclei(256, 300, 150, rng)
    if channels is None:
        inten = None
    elif channels == 1:
        inten = rng.random((256, 300)).astype(np.float32)
    else:
        inten = rng.random((256, 300, 3)).astype(np.float32)
    got = ops.regionprops(lab, inten)
    assert got["label"].dtype == np.int32 and got["bbox"].shape == (len(got["label"]), 4)
    # skimage averages float32 pixels in float32; we sum in float64.
    assert_same(got, skimage_table(lab, inten), mean_tol=tol("forward", "float32"))
    if inten is not None:
        assert got["mean_intensity"].shape == (len(got["label"]), channels)
        assert_same(got, regionprops_ref(lab, inten))


def test_regionprops_equals_skimage_uint8_exactly():
    rng = np.random.default_rng(4)
    lab = nuclei(200, 180, 90, rng)
    inten = rng.integers(0, 256, (200, 180, 3), dtype=np.uint8)
    assert_same(ops.regionprops(lab, inten), skimage_table(lab, inten))


def test_regionprops_classes_equal_reference_with_ties_to_smallest_id():
    rng = np.random.default_rng(5)
    lab = nuclei(150, 170, 80, rng)
    classes = rng.integers(0, 5, lab.shape).astype(np.uint8)
    inten = rng.random(lab.shape)
    got = ops.regionprops(lab, inten, classes)
    assert got["class"].dtype == np.int64
    assert_same(got, regionprops_ref(lab, inten, classes))
    # A 2-pixel instance with one pixel of class 3 and one of class 1: tie -> 1.
    tie = np.array([[7, 7, 0]], np.int32)
    assert ops.regionprops(tie, classes=np.array([[3, 1, 2]]))["class"].tolist() == [1]


@pytest.mark.parametrize("order_kind", ["shuffled", "reversed"])
def test_regionprops_device_element_in_any_order_equals_cpu_path(order_kind):
    rng = np.random.default_rng(9)
    lab = nuclei(140, 160, 70, rng)
    inten_int = rng.integers(0, 1000, (140, 160, 2)).astype(np.float64)  # exact in any order
    inten_f = rng.random((140, 160)).astype(np.float32)
    classes = rng.integers(0, 3, lab.shape).astype(np.int32)
    if order_kind == "shuffled":
        order = rng.permutation(lab.size)
    else:
        order = np.arange(lab.size)[::-1].copy()
    for inten, exact in ((inten_int, True), (inten_f, False)):
        cpu = _core.regionprops(lab, inten, classes)
        emu = _core.testing.regionprops_emulate(lab, inten, classes, order)
        for k, (a, b) in enumerate(zip(cpu, emu)):
            if k == 4 and not exact:
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
            else:
                np.testing.assert_array_equal(a, b)


def test_regionprops_threads_do_not_change_result():
    # Threads (private tables per row strip, merged) start at 2**23 pixels.
    rng = np.random.default_rng(2)
    lab = np.tile(nuclei(512, 256, 40, rng).astype(np.int64), (8, 8))
    inten = rng.integers(0, 4096, lab.shape).astype(np.uint16)
    with num_threads(1):
        one = ops.regionprops(lab, inten)
    with num_threads(2):
        two = ops.regionprops(lab, inten)
    assert_same(two, one)


@pytest.mark.parametrize(
    "lab",
    [
        np.zeros((1, 1), np.int32),
        np.ones((1, 1), np.int32),
        np.zeros((20, 30), np.int32),
        np.full((20, 30), 4, np.int32),
        np.array([[0, 5, 5, 0, 2, 2, 2, 5]], np.int32),
        np.array([[0, 5, 5, 0, 2, 2, 2, 5]], np.int32).T,
    ],
    ids=["1x1-bg", "1x1-fg", "all-bg", "all-fg", "1xN", "Nx1"],
)
def test_regionprops_edge_cases(lab):
    inten = np.arange(lab.size, dtype=np.float64).reshape(lab.shape)
    got = ops.regionprops(lab, inten)
    assert_same(got, regionprops_ref(lab, inten))
    if not lab.any():
        assert got["bbox"].shape == (0, 4) and got["mean_intensity"].shape == (0, 1)
    else:
        assert_same(got, skimage_table(lab, inten))


def test_regionprops_empty_image():
    got = ops.regionprops(np.zeros((0, 5), np.int32), np.zeros((0, 5, 2)), np.zeros((0, 5), int))
    assert got["label"].shape == (0,) and got["centroid"].shape == (0, 2)
    assert got["mean_intensity"].shape == (0, 2) and got["class"].shape == (0,)


def test_regionprops_sparse_label_values():
    lab = np.zeros((6, 7), np.int64)
    lab[1:3, 1:4] = 10**12
    lab[4, 5] = 3
    lab[5, 0:2] = 2**40
    got = ops.regionprops(lab, np.ones((6, 7, 2), np.uint8))
    assert got["label"].tolist() == [3, 10**12, 2**40]
    assert_same(got, regionprops_ref(lab, np.ones((6, 7, 2))))


@pytest.mark.parametrize(
    "lab_dtype,inten_dtype", [(np.uint16, np.uint16), (np.int64, np.int32), (np.uint8, np.bool_)]
)
def test_regionprops_dtypes(lab_dtype, inten_dtype):
    rng = np.random.default_rng(1)
    lab = nuclei(60, 70, 20, rng) % 250
    inten = rng.integers(0, 2, (60, 70, 2)).astype(inten_dtype)
    got = ops.regionprops(lab.astype(lab_dtype), inten)
    assert got["label"].dtype == lab_dtype
    want = regionprops_ref(lab, inten)
    want["label"] = want["label"].astype(lab_dtype)
    assert_same(got, want)


def test_regionprops_non_contiguous_inputs_not_mutated():
    rng = np.random.default_rng(3)
    lab = nuclei(90, 80, 30, rng)
    inten = rng.random((3, 90, 80))  # channel-first, transposed below
    classes = rng.integers(0, 3, (90, 80))
    lab_v, inten_v, cls_v = lab.T, inten.transpose(2, 1, 0), classes.T
    copies = [a.copy() for a in (lab_v, inten_v, cls_v)]
    got = ops.regionprops(lab_v, inten_v, cls_v)
    assert_same(got, regionprops_ref(lab_v, inten_v, cls_v))
    for a, c in zip((lab_v, inten_v, cls_v), copies):
        np.testing.assert_array_equal(a, c)


def test_regionprops_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    lab = nuclei(50, 60, 15, rng)
    inten = rng.random((50, 60, 3)).astype(np.float32)
    got = ops.regionprops(torch.from_numpy(lab), torch.from_numpy(inten))
    assert all(isinstance(v, torch.Tensor) for v in got.values())
    assert got["label"].dtype == torch.int32
    assert_same({k: v.numpy() for k, v in got.items()}, regionprops_ref(lab, inten))


def test_regionprops_errors():
    lab = np.zeros((4, 5), np.int32)
    with pytest.raises(ValueError, match=r"regionprops: labels must be 2-D, got shape \(4, 5, 1\)"):
        ops.regionprops(lab[..., None])
    with pytest.raises(
        ValueError, match=r"regionprops: labels must be non-negative, got minimum -1"
    ):
        ops.regionprops(lab - 1)
    with pytest.raises(
        TypeError, match=r"regionprops: labels must have an integer dtype, got float64"
    ):
        ops.regionprops(lab.astype(float))
    with pytest.raises(ValueError, match=r"regionprops: intensity must have shape \(4, 5\)"):
        ops.regionprops(lab, np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"regionprops: intensity must be 2-D or 3-D"):
        ops.regionprops(lab, np.zeros((4, 5, 1, 1)))
    with pytest.raises(TypeError, match=r"regionprops: intensity must be a bool, integer or float"):
        ops.regionprops(lab, np.zeros((4, 5), complex))
    with pytest.raises(
        ValueError, match=r"regionprops: classes must have shape \(4, 5\), got \(4, 4\)"
    ):
        ops.regionprops(lab, classes=np.zeros((4, 4), int))
    with pytest.raises(TypeError, match=r"regionprops: classes must have an integer dtype"):
        ops.regionprops(lab, classes=np.zeros((4, 5)))
    with pytest.raises(
        ValueError, match=r"regionprops: classes must be non-negative, got minimum -3"
    ):
        ops.regionprops(lab, classes=np.full((4, 5), -3))
    with pytest.raises(TypeError, match=r"regionprops: labels must have dtype int32 or int64"):
        _core.regionprops(lab.astype(np.int16))


@pytest.mark.skipif(_backend.HAS_CUDA, reason="checks the message given when CUDA is unusable")
def test_regionprops_cuda_backend_unavailable_says_why():
    with pytest.raises(RuntimeError, match=r"regionprops: backend 'cuda' is not available"):
        ops.regionprops(np.zeros((2, 2), np.int32), backend="cuda")


@pytest.mark.cuda
def test_regionprops_cuda_equals_cpu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    lab = nuclei(256, 200, 100, rng)
    inten = rng.random((256, 200, 3)).astype(np.float32)
    classes = rng.integers(0, 4, lab.shape)
    got = ops.regionprops(*(torch.from_numpy(a).cuda() for a in (lab, inten, classes)))
    assert_same({k: v.cpu().numpy() for k, v in got.items()}, ops.regionprops(lab, inten, classes))


SHAPE = ("perimeter", "eccentricity", "major_axis_length", "minor_axis_length", "orientation",
         "area_convex", "solidity")


def shapes_image(rng):
    """Discs, ellipses at angles, lines, single pixels, a ring, a label in two pieces, labels
    touching the image edge."""
    from skimage.draw import ellipse

    lab = nuclei(160, 190, 40, rng, rmin=1, rmax=16)
    for k in range(12):
        rr, cc = ellipse(rng.integers(0, 160), rng.integers(0, 190), rng.integers(2, 20),
                         rng.integers(1, 9), shape=lab.shape, rotation=rng.uniform(-np.pi, np.pi))
        lab[rr, cc] = 200 + k
    lab[3:40, 100] = 300  # vertical line
    lab[150, 10:60] = 301  # horizontal line
    lab[77, 33] = 302  # one pixel
    yy, xx = np.mgrid[:160, :190]
    ring = ((yy - 80) ** 2 + (xx - 150) ** 2 <= 100) & ((yy - 80) ** 2 + (xx - 150) ** 2 > 30)
    lab[ring] = 303
    lab[0:5, 0:5] = 304
    lab[20:25, 180:190] = 304  # same label, second piece
    return lab


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regionprops_shape_equals_skimage(seed):
    lab = shapes_image(np.random.default_rng(seed))
    got = ops.regionprops(lab, shape=True)
    want = regionprops_ref(lab, shape=True)
    np.testing.assert_array_equal(got["label"], want["label"])
    np.testing.assert_array_equal(got["area_convex"], want["area_convex"])
    for k in SHAPE:
        if k == "orientation":  # an axis: -pi/2 and pi/2 are one angle (rounding picks either)
            np.testing.assert_allclose(np.exp(2j * got[k]), np.exp(2j * want[k]), atol=1e-12)
        else:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_regionprops_shape_device_element_in_any_order_equals_cpu_path():
    lab = shapes_image(np.random.default_rng(3))
    got = ops.regionprops(lab, shape=True)
    order = np.random.default_rng(4).permutation(lab.size).astype(np.int64)
    emulated = _core.testing.regionprops_shape_emulate(
        lab, got["label"].astype(np.int64), got["bbox"], got["area"], order)
    for k, v in zip(SHAPE[:-1], emulated):
        np.testing.assert_array_equal(got[k], v, err_msg=k)  # integer sums: exactly equal


def test_regionprops_shape_edge_cases():
    empty = ops.regionprops(np.zeros((0, 5), np.int32), shape=True)
    assert all(len(empty[k]) == 0 for k in SHAPE)
    one = ops.regionprops(np.array([[0, 7]], np.int64), shape=True)
    assert one["area_convex"].tolist() == [1] and one["solidity"].tolist() == [1.0]
    assert one["eccentricity"].tolist() == [0.0] and one["perimeter"].tolist() == [0.0]
    sparse = np.zeros((40, 40), np.int64)
    sparse[5:15, 5:25] = 2**40
    dense = (sparse > 0).astype(np.int32)
    a, b = ops.regionprops(sparse, shape=True), ops.regionprops(dense, shape=True)
    assert a["label"].tolist() == [2**40]
    for k in SHAPE:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    with pytest.raises(ValueError, match="missing from present"):
        _core.regionprops_shape(dense, np.array([2], np.int64), np.array([[0, 0, 1, 1]]),
                                np.array([1]))


@pytest.mark.cuda
def test_regionprops_shape_cuda_equals_cpu():
    torch = pytest.importorskip("torch")
    lab = shapes_image(np.random.default_rng(5))
    got = ops.regionprops(torch.from_numpy(lab).cuda(), shape=True)
    want = ops.regionprops(lab, shape=True)
    for k in SHAPE:
        np.testing.assert_allclose(got[k].cpu().numpy(), want[k], rtol=1e-12, atol=1e-12)
