"""The small-nuclei upscale rule: its parameters, the exact way back to 1x, the second pass in
cellrt.Engine (tiled == whole, segment_many == segment, measured again at 1x) and its tuning."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellrt
from cellrt import ops
from cellrt.io.images import read_image
from cellrt.metrics import DatasetMetrics
from cellrt.engine.engine import Engine
from cellrt.engine.segment import segment_image
from cellrt.engine.rescale import sample_labels
from cellrt.families.boundary.upscale import UpscaleRule
from cellrt.runtime.package import ModelPackage, write_package

EXAMPLES = Path(cellrt.__file__).parent / "examples"
SMALL = "dsb_fluo_0"  # the example with the smallest nuclei (median area ~110 px)


def _example(name):
    return (read_image(EXAMPLES / f"{name}.png"),
            tifffile.imread(EXAMPLES / f"{name}_labels.tif"))


def _ap50(truth, labels):
    dm = DatasetMetrics(thresholds=[0.5])
    dm.add(truth, labels)
    return float(dm.result().ap.ap[0])


@pytest.fixture(scope="module")
def always_upscaling(tmp_path_factory):
    """nuclei-fluo with a rule that upscales every image with objects."""
    pkg = ModelPackage.load("nuclei-fluo")
    config = {**pkg.config.to_dict(), "upscale": {"below_median_area": 1e9, "factor": 2}}
    path = tmp_path_factory.mktemp("upscale") / "always.cellrt"
    return write_package(path, config, pkg.onnx_bytes, pkg.weights)


@pytest.mark.parametrize("d,msg", [
    ({"below_median_area": 100, "factor": 1}, "factor must be an integer >= 2, got 1"),
    ({"below_median_area": 100, "factor": 1.5}, "factor must be an integer >= 2, got 1.5"),
    ({"below_median_area": -1}, "below_median_area must be >= 0, got -1"),
    ({"below_median_area": float("nan")}, "below_median_area must be >= 0, got nan"),
    ({"below_median_area": 100, "scale": 2}, "unknown parameters ['scale']"),
])
def test_rule_rejects_bad_parameters(d, msg):
    with pytest.raises(ValueError) as e:
        UpscaleRule.from_dict(d)
    assert msg in str(e.value)


def test_rule_absent_or_zero_never_upscales():
    assert UpscaleRule.from_dict(None) is None
    res = cellrt.segment(_example(SMALL)[0], backend="onnxruntime")
    assert UpscaleRule(0).factor_for(res.table) == 1
    assert UpscaleRule(1e9).factor_for(res.table) == 2
    empty = cellrt.segment(np.zeros((64, 64), np.uint8), backend="onnxruntime")
    assert empty.count == 0 and UpscaleRule(1e9).factor_for(empty.table) == 1


def test_sample_labels_is_exact_and_renumbers_in_raster_order():
    small = np.array([[0, 7, 7, 0],
                      [3, 3, 0, 0],
                      [0, 0, 0, 9]], dtype=np.int32)
    big = np.kron(small, np.ones((2, 2), np.int32))
    big[0, 6] = 4  # a sub-pixel object no 1x pixel samples: it disappears
    labels, old = sample_labels(big, small.shape)
    np.testing.assert_array_equal(labels, [[0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 3]])
    np.testing.assert_array_equal(old, [7, 3, 9])
    labels, old = sample_labels(np.kron(small, np.ones((3, 3), np.int32)), small.shape)
    np.testing.assert_array_equal(labels, [[0, 1, 1, 0], [2, 2, 0, 0], [0, 0, 0, 3]])
    empty, old = sample_labels(np.zeros((4, 6), np.int32), (2, 3))
    assert empty.shape == (2, 3) and not empty.any() and len(old) == 0


def test_sample_labels_blows_up_a_shrunk_image_without_shifting_it():
    small = np.array([[0, 7, 7, 0],
                      [3, 3, 0, 9]], dtype=np.int32)
    # Back to 3x: every small pixel becomes a 3 x 3 block exactly where it was.
    labels, old = sample_labels(small, (6, 12))
    np.testing.assert_array_equal(labels, np.kron([[0, 1, 1, 0], [2, 2, 0, 3]],
                                                  np.ones((3, 3), np.int32)))
    np.testing.assert_array_equal(old, [7, 3, 9])
    # A non-integer factor keeps the order and the coverage of every object.
    labels, _ = sample_labels(small, (5, 10))
    assert labels.shape == (5, 10) and set(np.unique(labels)) == {0, 1, 2, 3}
    assert labels[0, 0] == 0 and labels[-1, 0] == 2 and labels[-1, -1] == 3


@pytest.mark.parametrize("name", [SMALL, "dsb_stained_0"])
def test_second_pass_result_is_measured_at_1x(always_upscaling, name):
    img, _ = _example(name)
    res = Engine(always_upscaling, backend="onnxruntime").segment(img)
    assert res.scale == 2 and res.labels.shape == img.shape[:2] and res.count > 10
    ids = res.table["id"]
    np.testing.assert_array_equal(ids, np.arange(1, res.count + 1))
    # Numbered in raster order of each instance's first pixel, as every other result.
    _, first = np.unique(res.labels.ravel(), return_index=True)
    assert np.all(np.diff(first[1:]) > 0)
    props = ops.regionprops(res.labels, intensity=img.reshape(*img.shape[:2], -1)
                            .astype(np.float32))
    for k in ("area", "bbox", "centroid", "mean_intensity"):
        np.testing.assert_allclose(res.table[k], props[k], rtol=1e-6, err_msg=k)
    assert np.all((res.table["score"] > 0.5) & (res.table["score"] <= 1))
    assert set(res.timings) == {"normalise", "network", "postprocess", "stitch"}


@pytest.mark.parametrize("tile_size", [96, 160])
def test_second_pass_tiled_equals_whole(always_upscaling, tile_size):
    img, _ = _example(SMALL)
    whole = Engine(always_upscaling, backend="onnxruntime", tile_size=0).segment(img)
    tiled = Engine(always_upscaling, backend="onnxruntime", tile_size=tile_size).segment(img)
    assert whole.scale == tiled.scale == 2
    np.testing.assert_array_equal(tiled.labels, whole.labels)


def test_segment_many_upscales_like_segment(always_upscaling):
    eng = Engine(always_upscaling, backend="onnxruntime", batch_size=2)
    items = [_example(n)[0] for n in (SMALL, "dsb_fluo_1", SMALL)]
    for one, many in zip([eng.segment(i) for i in items], eng.segment_many(items)):
        assert many.scale == one.scale == 2
        np.testing.assert_array_equal(many.labels, one.labels)


def test_upscale_false_is_one_pass(always_upscaling):
    img, _ = _example(SMALL)
    eng = Engine(always_upscaling, backend="onnxruntime", upscale=False)
    res = eng.segment(img)
    assert res.scale == 1
    np.testing.assert_array_equal(res.labels, segment_image(img, eng.backend, eng.family).labels)


def test_second_pass_separates_small_touching_nuclei(always_upscaling):
    # Measured: on this image of ~10 px nuclei, the 1x pass merges neighbours (AP@0.5 ~0.50)
    # and the 2x pass separates most of them (~0.65).
    img, truth = _example(SMALL)
    one = Engine(always_upscaling, backend="onnxruntime", upscale=False).segment(img)
    two = Engine(always_upscaling, backend="onnxruntime").segment(img)
    assert _ap50(truth, two.labels) > _ap50(truth, one.labels) + 0.05


def test_tune_upscale_on_val_only(tmp_path):
    from cellrt.calibrate.tune import tune_upscale
    from tests.python.datasets import example_dataset

    data = example_dataset(tmp_path, {"val": ["e0", "e1", "e2"], "test": ["e2"]})
    with pytest.raises(ValueError, match="refusing to tune on the 'test' split"):
        tune_upscale("nuclei-fluo", data, "test")
    rule = tune_upscale("nuclei-fluo", data, "val", thresholds=[150, 1e9], log=lambda s: None)
    assert set(rule) == {"below_median_area", "factor", "score", "score_without"}
    assert rule["below_median_area"] in (0, 150, 1e9) and rule["factor"] == 2
    assert rule["score"] >= rule["score_without"] > 0.5
    json.dumps(rule)


def test_segment_cli_reports_and_can_skip_the_second_pass(always_upscaling, tmp_path):
    from tests.python.engine.test_segment_cli import run_cli

    src = EXAMPLES / f"{SMALL}.png"
    proc = run_cli("segment", src, "-o", tmp_path / "two", "--model", always_upscaling,
                   "--backend", "onnxruntime")
    assert proc.returncode == 0, proc.stderr
    assert ", scale 2.00 (median diameter " in proc.stdout
    proc = run_cli("segment", src, "-o", tmp_path / "one", "--model", always_upscaling,
                   "--backend", "onnxruntime", "--no-autoscale")
    assert proc.returncode == 0, proc.stderr
    assert "objects" in proc.stdout and "scale" not in proc.stdout
    two = tifffile.imread(tmp_path / "two" / f"{SMALL}_labels.tif")
    one = tifffile.imread(tmp_path / "one" / f"{SMALL}_labels.tif")
    assert two.shape == one.shape == (256, 256) and two.max() != one.max()
