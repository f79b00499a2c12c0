"""cellrt.ops.watershed: parity with scikit-image and the reference, tie semantics, GPU-step
emulation, boundary cases and errors.

Notion of equality. The flood order is scikit-image's except for the order of equal-valued
marker pixels (raster order here, heap layout there). So:
* tie-free inputs (all in-mask values distinct), and inputs whose marker pixels have pairwise
  distinct values: labels identical to scikit-image's;
* any input: labels identical to ``watershed_ref`` (same order, written with heapq);
* inputs with equal values: every labelling (ours, scikit-image's, the GPU emulation's) must be
  *valid*: each pixel carries the label of one of its neighbours of smallest arrival state
  (D, h) (see ``arrival_states``), and where ours and scikit-image's differ, both labels reach the
  pixel at the same minimax level D.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

skimage_segmentation = pytest.importorskip("skimage.segmentation")

from cellrt import _backend, _core  # noqa: E402
from cellrt.ops import watershed  # noqa: E402
from cellrt.reference.watershed_ref import NEIGHBOURS, arrival_states, watershed_ref  # noqa: E402
from tests.python.ops._threads import num_threads  # noqa: E402

sk_watershed = skimage_segmentation.watershed


def skimage_ws(image, markers, mask=None, connectivity=1):
    return sk_watershed(image, markers, connectivity=connectivity, mask=mask).astype(np.int32)


# Queue order probe: a pixel reached from above its own value waits at the water level (the
# order of scikit-image 0.26; the watershed was reworked in 0.25, see scikit-image issue #7661)
# rather than at its own value. The orders agree on tie-free inputs; comparisons on inputs with
# ties need the same order.
ORDER_PROBE = (np.array([[4.0, 3, 3, 2, 2, 4, 1]]), np.array([[1, 0, 0, 0, 0, 0, 2]]))
ORDER_PROBE_LABELS = [[1, 1, 1, 2, 2, 2, 2]]
same_order_as_skimage = pytest.mark.skipif(
    sk_watershed(*ORDER_PROBE).tolist() != ORDER_PROBE_LABELS,
    reason="the installed scikit-image queues pixels at their own value (older order)")


def test_queue_waits_at_water_level():
    assert watershed(*ORDER_PROBE).tolist() == ORDER_PROBE_LABELS
    assert watershed_ref(*ORDER_PROBE).tolist() == ORDER_PROBE_LABELS


# --------------------------------------------------------------------------- input generators


def random_markers(rng, shape, count, max_label=None, blob=False):
    """`count` seeds (labels 1..max_label) at random places; `blob` grows each to a 3x3 patch."""
    mk = np.zeros(shape, np.int32)
    n = min(count, mk.size)
    flat = rng.choice(mk.size, n, replace=False)
    labels = rng.integers(1, (max_label or n) + 1, n)
    mk.flat[flat] = labels
    if blob:
        mk = ndi.grey_dilation(mk, size=(3, 3))
    return mk


def nuclei_map(rng, size, smooth=False):
    """Cell-like input: union of random discs (radius 6-20 px) as mask, its Euclidean distance
    transform as relief (negated), markers = labelled cores (distance above 60% of the local
    maximum). `smooth`: a network-like continuous map (blurred, noisy), which has no ties."""
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros(size, bool)
    for _ in range(max(2, h * w // 900)):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(6, 20)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    dist = ndi.distance_transform_edt(mask)
    cores = (dist > 0.6 * ndi.maximum_filter(dist, size=9)) & (dist > 2)
    markers = ndi.label(cores)[0].astype(np.int32)
    if smooth:
        dist = ndi.gaussian_filter(dist, 1.0) * (1 + 0.01 * rng.standard_normal(size))
    return -dist, markers, mask


def levels_of(image):
    return np.unique(image, return_inverse=True)[1].reshape(image.shape).astype(np.uint32)


# --------------------------------------------------------------------------- validity checks


def neighbour_views(a, connectivity, fill):
    """For each neighbour offset, the array of a's value at that neighbour (fill outside)."""
    h, w = a.shape
    pad = np.pad(a, 1, constant_values=fill)
    return [pad[1 + dr:1 + dr + h, 1 + dc:1 + dc + w] for dr, dc in NEIGHBOURS[connectivity]]


def assert_valid_labelling(labels, image, markers, mask, connectivity, states=None):
    """Every labelled non-marker pixel carries the label of one of its in-mask neighbours of
    smallest arrival state (D, h); markers keep their labels; unreached and outside pixels are 0."""
    mask = np.ones(image.shape, bool) if mask is None else mask
    seeds = np.where(mask, markers, 0)
    levels, steps = states if states is not None else arrival_states(image, markers, mask,
                                                                     connectivity)
    reached = np.isfinite(levels)
    assert np.array_equal(labels[~mask], np.zeros((~mask).sum(), np.int32))
    assert np.all(labels[mask & ~reached] == 0)
    assert np.array_equal(labels[seeds != 0], seeds[seeds != 0])
    # One sortable key per pixel for (D, h); unreached and outside get a key above all others.
    rank = np.unique(levels, return_inverse=True)[1].reshape(levels.shape).astype(np.int64)
    key = rank * (steps.max() + 2) + np.maximum(steps, 0)
    top = key.max() + 1
    key = np.where(mask & reached, key, top)
    nkeys = neighbour_views(key, connectivity, top)
    nlabels = neighbour_views(labels, connectivity, 0)
    best = np.minimum.reduce(nkeys)
    ok = np.zeros(image.shape, bool)
    for k, lab in zip(nkeys, nlabels):
        ok |= (k == best) & (lab == labels)
    check = mask & reached & (seeds == 0)
    assert np.all(ok[check]), f"{(~ok & check).sum()} pixels take no earliest neighbour's label"
    return levels


def assert_differences_are_ties(ours, theirs, image, markers, mask, connectivity):
    """Where two valid labellings differ, both labels reach the pixel at the same (minimax)
    level: the pixel lies where equal-valued fronts of two basins meet."""
    diff = ours != theirs
    if not diff.any():
        return
    seeds = np.where(mask if mask is not None else True, markers, 0)
    levels = arrival_states(image, markers, mask, connectivity)[0]
    for lab in np.unique(np.concatenate([ours[diff], theirs[diff]])):
        own = arrival_states(image, np.where(seeds == lab, seeds, 0), mask, connectivity)[0]
        for result in (ours, theirs):
            where = diff & (result == lab)
            assert np.array_equal(own[where], levels[where])


# --------------------------------------------------------------------------- reference


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_reference_equals_skimage(connectivity, masked):
    rng = np.random.default_rng(10 + connectivity + 2 * masked)
    for _ in range(4):
        shape = tuple(rng.integers(5, 40, 2))
        image = rng.random(shape)
        markers = random_markers(rng, shape, 8, max_label=5)
        mask = rng.random(shape) > 0.2 if masked else None
        assert np.array_equal(watershed_ref(image, markers, mask, connectivity),
                              skimage_ws(image, markers, mask, connectivity))


# --------------------------------------------------------------------------- scikit-image parity


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_tie_free_random_equals_skimage(connectivity, masked):
    rng = np.random.default_rng(20 + connectivity + 2 * masked)
    cases = [((97, 131), 30, False), ((160, 120), 12, True), ((1, 300), 5, False)]
    for shape, count, blob in cases:
        image = rng.random(shape)
        markers = random_markers(rng, shape, count, blob=blob)
        mask = rng.random(shape) > 0.15 if masked else None
        ours = watershed(image, markers, mask, connectivity)
        assert ours.dtype == np.int32
        assert np.array_equal(ours, skimage_ws(image, markers, mask, connectivity))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_nearly_equal_values_are_ordered_exactly(connectivity):
    """Distinct values one ulp apart share a quantisation bucket; the order stays exact."""
    rng = np.random.default_rng(30)
    shape = (70, 90)
    steps = rng.permutation(np.prod(shape)).reshape(shape)
    far = rng.random(shape) < 0.3
    markers = random_markers(rng, shape, 15)
    for dtype in (np.float64, np.float32):
        image = (1 + steps * np.finfo(dtype).eps).astype(dtype)  # 1 + k ulp: exact, distinct
        image[far] *= 2  # a far cluster: the near one shares few buckets, each of mixed values
        assert len(np.unique(image)) == image.size
        assert np.array_equal(watershed(image, markers, None, connectivity),
                              skimage_ws(image, markers, None, connectivity))


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("masked", [False, True])
def test_nuclei_continuous_map_equals_skimage(connectivity, masked):
    rng = np.random.default_rng(40 + connectivity + 2 * masked)
    image, markers, mask = nuclei_map(rng, (192, 224), smooth=True)
    mask = mask if masked else None
    ours = watershed(image, markers, mask, connectivity)
    assert len(np.unique(ours)) > 10
    assert np.array_equal(ours, skimage_ws(image, markers, mask, connectivity))


@same_order_as_skimage
@pytest.mark.parametrize("connectivity", [1, 2])
def test_plateaus_with_distinct_marker_values_equal_skimage(connectivity):
    """Ties between non-marker pixels are broken by age exactly as scikit-image does."""
    rng = np.random.default_rng(50 + connectivity)
    for _ in range(6):
        shape = (48, 56)
        image = np.round(ndi.gaussian_filter(rng.random(shape), 2) * 20) / 20  # wide plateaus
        markers = random_markers(rng, shape, 10)
        seeds = markers != 0
        image[seeds] = -1.0 - np.arange(seeds.sum()) * 1e-3  # distinct marker values
        mask = rng.random(shape) > 0.1
        assert np.array_equal(watershed(image, markers, mask, connectivity),
                              skimage_ws(image, markers, mask, connectivity))


# --------------------------------------------------------------------------- ties


@same_order_as_skimage
@pytest.mark.parametrize("connectivity", [1, 2])
def test_plateau_inputs_match_reference_and_differ_from_skimage_only_at_ties(connectivity):
    rng = np.random.default_rng(60 + connectivity)
    ndiff = 0
    for trial in range(6):
        shape = (40, 48)
        image = np.round(ndi.gaussian_filter(rng.random(shape), 2) * 12)  # few values
        markers = random_markers(rng, shape, 10)
        mask = rng.random(shape) > 0.1 if trial % 2 else None
        ours = watershed(image, markers, mask, connectivity)
        theirs = skimage_ws(image, markers, mask, connectivity)
        assert np.array_equal(ours, watershed_ref(image, markers, mask, connectivity))
        states = arrival_states(image, markers, mask, connectivity)
        assert_valid_labelling(ours, image, markers, mask, connectivity, states)
        assert_valid_labelling(theirs, image, markers, mask, connectivity, states)
        assert_differences_are_ties(ours, theirs, image, markers, mask, connectivity)
        ndiff += int((ours != theirs).sum())
    assert ndiff > 0  # the inputs do exercise the equal-valued-marker freedom


@same_order_as_skimage
@pytest.mark.parametrize("connectivity", [1, 2])
def test_nuclei_distance_map_ties(connectivity):
    """Raw distance transform (few distinct values): any difference from scikit-image is a tie."""
    rng = np.random.default_rng(70 + connectivity)
    image, markers, mask = nuclei_map(rng, (128, 160))
    ours = watershed(image, markers, mask, connectivity)
    theirs = skimage_ws(image, markers, mask, connectivity)
    assert np.array_equal(ours, watershed_ref(image, markers, mask, connectivity))
    states = arrival_states(image, markers, mask, connectivity)
    assert_valid_labelling(ours, image, markers, mask, connectivity, states)
    assert_valid_labelling(theirs, image, markers, mask, connectivity, states)
    assert_differences_are_ties(ours, theirs, image, markers, mask, connectivity)
    assert (ours != theirs).mean() < 1e-3


@same_order_as_skimage
def test_constant_image_splits_by_distance():
    """A single plateau: breadth-first growth from both markers, the middle decided by age."""
    image = np.zeros((1, 12))
    markers = np.zeros((1, 12), np.int32)
    markers[0, 2], markers[0, 7] = 1, 2
    expected = np.array([[1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]], np.int32)
    assert np.array_equal(watershed(image, markers), expected)
    assert np.array_equal(skimage_ws(image, markers), expected)


# --------------------------------------------------------------------------- GPU steps on the CPU


@pytest.mark.parametrize("connectivity", [1, 2])
def test_gpu_steps_match_cpu_on_tie_free_inputs(connectivity):
    """Minimax-state relaxation + pointer jumping == priority flood when in-mask values are
    pairwise distinct, in any pixel visiting order."""
    rng = np.random.default_rng(80 + connectivity)
    image, markers, mask = nuclei_map(rng, (96, 112), smooth=True)
    background = image + 1e-6 * rng.random(image.shape)  # unmasked: the zero background too
    cases = [(rng.random((57, 73)), random_markers(rng, (57, 73), 20), rng.random((57, 73)) > 0.2),
             (image, markers, mask), (background, markers, None)]
    for image, markers, mask in cases:
        inside = image if mask is None else image[mask]
        assert len(np.unique(inside)) == inside.size  # the premise: no ties
        expected = watershed(image, markers, mask, connectivity)
        for order in ("forward", "reversed", "shuffled"):
            labels, state, parent = _core.testing.watershed_emulate(
                levels_of(image), markers, mask, connectivity, order, seed=3)
            assert np.array_equal(labels, expected), order


@pytest.mark.parametrize("connectivity", [1, 2])
def test_gpu_steps_with_ties_are_valid_and_order_independent(connectivity):
    rng = np.random.default_rng(90 + connectivity)
    image, markers, mask = nuclei_map(rng, (80, 96))
    states = arrival_states(image, markers, mask, connectivity)
    results = [_core.testing.watershed_emulate(levels_of(image), markers, mask, connectivity,
                                               order, seed=s)
               for order, s in (("forward", 0), ("reversed", 0), ("shuffled", 1), ("shuffled", 2))]
    for labels, state, _ in results:
        assert np.array_equal(labels, results[0][0])
        assert np.array_equal(state, results[0][1])
    labels, state, parent = results[0]
    # The relaxed state is the reference's (D, h), with levels as ranks.
    reached = np.isfinite(states[0])
    rank = np.searchsorted(np.unique(image), states[0][reached])
    assert np.array_equal(state[reached] >> np.uint64(32), rank.astype(np.uint64))
    steps = state[reached] & np.uint64(0xFFFFFFFF)
    assert np.array_equal(steps, states[1][reached].astype(np.uint64))
    assert np.all(parent[~reached] == -1)
    assert_valid_labelling(labels, image, markers, mask, connectivity, states)


# --------------------------------------------------------------------------- boundary cases


def test_empty_markers_give_zeros():
    image = np.random.default_rng(0).random((20, 30))
    out = watershed(image, np.zeros((20, 30), np.int32))
    assert out.dtype == np.int32 and out.shape == (20, 30) and not out.any()


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_empty_image(shape):
    out = watershed(np.zeros(shape), np.zeros(shape, np.int32), np.zeros(shape, bool))
    assert out.shape == shape and out.dtype == np.int32


def test_one_pixel():
    assert watershed(np.array([[0.5]]), np.array([[7]])).tolist() == [[7]]
    assert watershed(np.array([[0.5]]), np.array([[0]])).tolist() == [[0]]
    assert watershed(np.array([[0.5]]), np.array([[7]]), np.array([[False]])).tolist() == [[0]]


def test_markers_outside_mask_are_ignored():
    rng = np.random.default_rng(1)
    image = rng.random((30, 40))
    mask = np.zeros((30, 40), bool)
    mask[5:25, 5:35] = True
    markers = np.zeros((30, 40), np.int32)
    markers[2, 2] = 1    # outside: ignored, not even its own label
    markers[10, 10] = 2
    markers[20, 30] = 3
    out = watershed(image, markers, mask)
    assert out[2, 2] == 0 and set(np.unique(out)) == {0, 2, 3}
    assert np.array_equal(out, skimage_ws(image, markers, mask))


def test_mask_components_without_markers_stay_zero():
    image = np.random.default_rng(2).random((20, 20))
    mask = np.zeros((20, 20), bool)
    mask[:, :8] = mask[:, 12:] = True
    markers = np.zeros((20, 20), np.int32)
    markers[10, 3] = 4
    out = watershed(image, markers, mask, connectivity=2)
    assert np.all(out[:, :8] == 4) and not out[:, 8:].any()


def test_negative_and_extreme_labels_are_kept():
    rng = np.random.default_rng(3)
    image = rng.random((40, 50))
    markers = np.zeros((40, 50), np.int32)
    info = np.iinfo(np.int32)
    markers[5, 5], markers[30, 40], markers[20, 10] = -1, info.max, info.min
    assert np.array_equal(watershed(image, markers), skimage_ws(image, markers))


def test_nan_inside_mask_raises_outside_is_ignored():
    rng = np.random.default_rng(4)
    image = rng.random((20, 20))
    markers = random_markers(rng, (20, 20), 4)
    image[3, 4] = np.nan
    with pytest.raises(ValueError, match="watershed: image contains NaN inside the mask"):
        watershed(image, markers)
    with pytest.raises(ValueError, match="NaN"):
        watershed(image.astype(np.float32), markers)
    mask = np.ones((20, 20), bool)
    mask[3, 4] = False
    clean = np.where(mask, image, 0.0)
    assert np.array_equal(watershed(image, markers, mask), watershed(clean, markers, mask))


def test_infinities_are_ordinary_extreme_values():
    rng = np.random.default_rng(5)
    image = rng.random((30, 30))
    image[10, 10], image[20, 5] = np.inf, -np.inf
    markers = random_markers(rng, (30, 30), 6)
    assert np.array_equal(watershed(image, markers), skimage_ws(image, markers))


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int8, np.uint16, np.int16, np.int32,
                                   np.uint32, np.int64, np.uint64, np.float16, np.float32,
                                   np.float64])
def test_image_dtypes(dtype):
    """Every dtype floods in its own exact order (integer plateaus included)."""
    rng = np.random.default_rng(6)
    shape = (33, 37)
    if dtype == np.bool_:
        image = rng.random(shape) > 0.5
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        image = rng.integers(max(info.min, -40000), min(info.max, 70000), shape, endpoint=True)
        image = image.astype(dtype)
    else:
        image = rng.standard_normal(shape).astype(dtype)
    markers = random_markers(rng, shape, 9, max_label=4)
    mask = rng.random(shape) > 0.1
    for connectivity in (1, 2):
        expected = watershed_ref(image.astype(np.float64), markers, mask, connectivity)
        assert np.array_equal(watershed(image, markers, mask, connectivity), expected)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.int16, np.uint16, np.int64, np.uint32])
def test_marker_and_mask_dtypes(dtype):
    rng = np.random.default_rng(7)
    image = rng.random((25, 25))
    markers = random_markers(rng, (25, 25), 5, max_label=1 if dtype == np.bool_ else 5)
    mask = (rng.random((25, 25)) > 0.2)
    expected = watershed(image, markers, mask)
    assert np.array_equal(watershed(image, markers.astype(dtype), mask.astype(dtype)), expected)


def test_non_contiguous_inputs():
    rng = np.random.default_rng(8)
    image = rng.random((60, 50))
    markers = random_markers(rng, (60, 50), 10)
    mask = rng.random((60, 50)) > 0.2
    expected = watershed(np.ascontiguousarray(image.T), np.ascontiguousarray(markers.T),
                         np.ascontiguousarray(mask.T))
    assert np.array_equal(watershed(image.T, markers.T, mask.T), expected)
    strided = watershed(image[::2, ::3], markers[::2, ::3], mask[::2, ::3], 2)
    assert np.array_equal(strided, skimage_ws(image[::2, ::3], markers[::2, ::3],
                                              mask[::2, ::3], 2))


def test_inputs_not_mutated():
    rng = np.random.default_rng(9)
    image = rng.random((30, 30))
    markers = random_markers(rng, (30, 30), 5)
    mask = rng.random((30, 30)) > 0.3
    copies = (image.copy(), markers.copy(), mask.copy())
    watershed(image, markers, mask, 2)
    for before, after in zip(copies, (image, markers, mask)):
        assert np.array_equal(before, after)


def test_torch_in_torch_out():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    image = rng.random((40, 30)).astype(np.float32)
    markers = random_markers(rng, (40, 30), 6)
    mask = rng.random((40, 30)) > 0.2
    expected = watershed(image, markers, mask)
    out = watershed(torch.from_numpy(image), torch.from_numpy(markers), torch.from_numpy(mask))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.int32
    assert np.array_equal(out.numpy(), expected)
    # Non-contiguous tensors (permute), and mixed kinds.
    out_t = watershed(torch.from_numpy(image.T.copy()).permute(1, 0),
                      torch.from_numpy(markers), mask)
    assert np.array_equal(out_t.numpy(), expected)


def test_threads_do_not_change_labels():
    rng = np.random.default_rng(12)
    image, markers, mask = nuclei_map(rng, (160, 200))
    results = []
    for n in (1, 2, 3):
        with num_threads(n):
            results.append(watershed(image, markers, mask))
    assert all(np.array_equal(r, results[0]) for r in results)


# --------------------------------------------------------------------------- errors


def test_shape_errors():
    image = np.zeros((4, 5))
    with pytest.raises(ValueError, match=r"watershed: markers must have the image's shape "
                                         r"\(4, 5\), got \(5, 4\)"):
        watershed(image, np.zeros((5, 4), np.int32))
    with pytest.raises(ValueError, match=r"watershed: mask must have the image's shape "
                                         r"\(4, 5\), got \(4, 4\)"):
        watershed(image, np.zeros((4, 5), np.int32), np.ones((4, 4), bool))
    with pytest.raises(ValueError, match=r"watershed: image must be 2-D, got shape \(4, 5, 1\)"):
        watershed(np.zeros((4, 5, 1)), np.zeros((4, 5, 1), np.int32))
    with pytest.raises(ValueError, match=r"watershed: markers must be 2-D"):
        watershed(image, np.zeros(20, np.int32))


def test_argument_errors():
    image, markers = np.zeros((4, 5)), np.zeros((4, 5), np.int32)
    with pytest.raises(ValueError, match="connectivity must be 1 .* or 2 .*, got 3"):
        watershed(image, markers, connectivity=3)
    with pytest.raises(TypeError, match="connectivity must be the int 1 or 2"):
        watershed(image, markers, connectivity=1.0)
    with pytest.raises(TypeError, match="markers must have dtype in"):
        watershed(image, markers.astype(np.float32))
    with pytest.raises(TypeError, match="image must have dtype in"):
        watershed(image.astype(np.complex64), markers)
    with pytest.raises(TypeError, match="mask must have dtype in"):
        watershed(image, markers, mask=np.ones((4, 5), np.float32))
    with pytest.raises(TypeError, match="image must be a numpy.ndarray or torch.Tensor"):
        watershed({"image": image}, markers)
    big = markers.astype(np.int64)
    big[0, 0] = 2**40
    with pytest.raises(ValueError,
                       match=r"markers must fit int32, got values in \[0, 1099511627776\]"):
        watershed(image, big)
    with pytest.raises(ValueError, match="backend must be one of"):
        watershed(image, markers, backend="gpu")


@pytest.mark.skipif(_backend.HAS_CUDA, reason="checks the no-GPU error")
def test_cuda_backend_unavailable_is_explained():
    with pytest.raises(RuntimeError, match="watershed: backend 'cuda' is not available"):
        watershed(np.zeros((3, 3)), np.zeros((3, 3), np.int32), backend="cuda")


@pytest.mark.cuda
def test_cuda_matches_cpu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    image, markers, mask = nuclei_map(rng, (256, 256), smooth=True)
    expected = watershed(image, markers, mask, 2)
    out = watershed(torch.from_numpy(image).cuda(), torch.from_numpy(markers).cuda(),
                    torch.from_numpy(mask).cuda(), 2)
    assert np.array_equal(out.cpu().numpy(), expected)
