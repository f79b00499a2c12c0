"""Tiling: plans partition the image, and the tiled result equals the whole-image result."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellrt
from cellrt.io.images import read_image
from cellrt.engine.tiling import TilePlan

EXAMPLES = Path(cellrt.__file__).parent / "examples"


@pytest.mark.parametrize("shape,tile", [((100, 130), 32), ((64, 64), 64), ((70, 33), 0),
                                        ((257, 129), 48)])
def test_cores_partition_the_image(shape, tile):
    plan = TilePlan.create(shape, tile, object_halo=16, context=24, align=8)
    cover = np.zeros(shape, dtype=np.int32)
    for t in plan:
        y0, x0, y1, x1 = t.core
        cover[y0:y1, x0:x1] += 1
        # region contains core, net contains region; net windows start on the alignment grid
        assert t.region[0] <= y0 and t.region[1] <= x0 and t.region[2] >= y1 and t.region[3] >= x1
        assert t.net[0] <= t.region[0] and t.net[2] >= t.region[2]
        assert t.net[0] % 8 == 0 and t.net[1] % 8 == 0
    assert (cover == 1).all()
    assert len(list(plan)) == len(plan)


def test_plan_validation():
    with pytest.raises(ValueError, match="TilePlan: height must be > 0, got 0"):
        TilePlan.create((0, 10), 8, 8, 8, 8)
    with pytest.raises(ValueError, match="TilePlan: context must be a non-negative multiple of 8"):
        TilePlan(10, 10, 8, 8, 12, 8)


def _mosaic() -> np.ndarray:
    """A 616 x 1056 mosaic of the real example images (several sizes, nuclei on the seams)."""
    canvas = np.zeros((616, 1056), dtype=np.uint8)
    spots = [(0, 0), (0, 256), (0, 512), (256, 0), (96, 360)]
    for i, (y, x) in zip([0, 1, 2, 1, 3], spots):
        img = read_image(EXAMPLES / f"dsb_fluo_{i}.png")
        h, w = min(img.shape[0], 616 - y), min(img.shape[1], 1056 - x)
        canvas[y:y + h, x:x + w] = np.maximum(canvas[y:y + h, x:x + w], img[:h, :w])
    return canvas


@pytest.fixture(scope="module")
def whole_result():
    return cellrt.segment(_mosaic(), "nuclei-fluo", tile_size=0, backend="onnxruntime")


@pytest.mark.parametrize("tile", [128, 200, 256])
def test_tiled_equals_whole_image(whole_result, tile):
    tiled = cellrt.segment(_mosaic(), "nuclei-fluo", tile_size=tile, backend="onnxruntime")
    assert whole_result.count > 100  # the mosaic really has many nuclei, across tile borders
    # Identical labels, not merely equal up to renumbering: both are numbered in raster order.
    np.testing.assert_array_equal(tiled.labels, whole_result.labels)
    assert tiled.cut_objects == 0
    for key in ("id", "area", "bbox", "class"):
        np.testing.assert_array_equal(tiled.table[key], whole_result.table[key])
    # A tile's centroid is its local centroid plus the tile offset: equal up to float rounding.
    np.testing.assert_allclose(tiled.table["centroid"], whole_result.table["centroid"], rtol=1e-12)
    np.testing.assert_allclose(tiled.table["score"], whole_result.table["score"], rtol=1e-6)


def test_table_matches_labels(whole_result):
    lab, tab = whole_result.labels, whole_result.table
    assert lab.max() == whole_result.count
    np.testing.assert_array_equal(tab["id"], np.arange(1, whole_result.count + 1))
    np.testing.assert_array_equal(tab["area"], np.bincount(lab.ravel())[1:])
    assert ((tab["score"] > 0) & (tab["score"] <= 1)).all()


def test_example_labels_are_shipped():
    lab = tifffile.imread(EXAMPLES / "dsb_fluo_0_labels.tif")
    assert lab.shape == read_image(EXAMPLES / "dsb_fluo_0.png").shape
    assert lab.max() == 62
