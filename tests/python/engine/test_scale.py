"""Images at another magnification than the model's training images: the scale rule
(cellrt.families.scale) finds it, in both directions, and a given diameter or pixel size sets
it. Real test-split images (the shipped examples) rescaled as a 20x-63x objective would show
them."""

import cv2
import numpy as np
import pytest
import tifffile

import cellrt
from cellrt.engine.engine import Engine
from cellrt.families.scale import ScaleRule
from cellrt.metrics import DatasetMetrics
from tests.python.engine.test_segment_cli import EXAMPLES, run_cli

IMAGES = ("dsb_fluo_2", "dsb_fluo_3")  # dsb2018 test split, 360 x 360 and 520 x 696


def _rescaled(name: str, s: float):
    img = cv2.imread(str(EXAMPLES / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    lab = tifffile.imread(EXAMPLES / f"{name}_labels.tif")
    if s == 1:
        return img, lab
    img = cv2.resize(img, None, fx=s, fy=s,
                     interpolation=cv2.INTER_LINEAR if s > 1 else cv2.INTER_AREA)
    return img, cv2.resize(lab, img.shape[::-1][-2:], interpolation=cv2.INTER_NEAREST)


@pytest.fixture(scope="module")
def engine():
    return Engine("nuclei-fluo", backend="onnxruntime")


def _ap50(engine, s: float, **kw) -> tuple[float, list]:
    dm, results = DatasetMetrics(thresholds=[0.5]), []
    for name in IMAGES:
        img, lab = _rescaled(name, s)
        res = engine.segment(img, **kw)
        dm.add(lab, res.labels)
        results.append(res)
    return float(dm.result().ap.ap[0]), results


def test_magnified_images_keep_their_accuracy(engine):
    """Targets of issue 21: AP@0.5 at 2x, 3x, 4x within 0.05 of 1x, at 0.5x within 0.10 (here
    on two real test images; docs/scale.md has the whole test split)."""
    base, at1 = _ap50(engine, 1)
    for s in (2, 3, 4):
        ap, results = _ap50(engine, s)
        assert ap >= base - 0.05, (s, ap, base)
        # the image was shrunk back towards the training size, and says so; the nuclei it
        # finds have the 1x result's size, magnified
        assert all(r.scale < 0.75 for r in results), [r.scale for r in results]
        for r, r1 in zip(results, at1):
            assert abs(r.diameter / s - r1.diameter) < 0.15 * r1.diameter
    ap, _ = _ap50(engine, 0.5)
    assert ap >= base - 0.10, (ap, base)


def _ap50_diameter(name: str) -> float:
    areas = np.bincount(tifffile.imread(EXAMPLES / f"{name}_labels.tif").ravel())[1:]
    return float(np.median(np.sqrt(areas[areas > 0] * 4 / np.pi)))


def test_without_the_rule_a_magnified_image_falls_apart():
    """What issue 21 saw: one pass at 3x cuts nuclei into fragments."""
    plain = Engine("nuclei-fluo", backend="onnxruntime", upscale=False)
    base, _ = _ap50(plain, 1)
    ap, _ = _ap50(plain, 3)
    assert ap < base - 0.3


def test_given_diameter_sets_the_scale(engine):
    img, lab = _rescaled("dsb_fluo_2", 3)
    rule = engine.family.scale_rule
    d = 3 * _ap50_diameter("dsb_fluo_2")
    res = engine.segment(img, diameter=d)
    assert res.scale == pytest.approx(rule.diameter / d)
    dm = DatasetMetrics(thresholds=[0.5])
    dm.add(lab, res.labels)
    assert dm.result().ap.ap[0] > 0.6  # one pass at 3x, no rescaling: about 0.05
    with pytest.raises(ValueError, match="positive number of pixels"):
        engine.segment(img, diameter=-3)
    with pytest.raises(ValueError, match="not both"):
        engine.segment(img, diameter=30, pixel_size=0.3)


def test_scaled_tiled_equals_whole(engine):
    img, _ = _rescaled("dsb_fluo_2", 3)
    whole = Engine("nuclei-fluo", backend="onnxruntime", tile_size=0).segment(img)
    tiled = Engine("nuclei-fluo", backend="onnxruntime", tile_size=128).segment(img)
    assert whole.scale == tiled.scale < 1
    assert np.array_equal(whole.labels, tiled.labels)


def test_cli_says_the_scale_and_refuses_an_unknown_pixel_size(tmp_path):
    img, _ = _rescaled("dsb_fluo_2", 3)
    src = tmp_path / "big.png"
    cv2.imwrite(str(src), img)
    r = run_cli("segment", src, "-o", tmp_path / "o", "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert ", scale 0." in r.stdout and "(median diameter " in r.stdout
    r = run_cli("segment", src, "-o", tmp_path / "o2", "--backend", "onnxruntime",
                "--pixel-size", "0.3")
    assert r.returncode == 2 and "no known pixel size" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o2").exists()


def test_scale_rule_estimates():
    rule = ScaleRule(17.0)
    # Two neighbouring probes agreeing on 60 px nuclei: shrink to the training size.
    assert rule.estimate([(0.125, 7.0), (0.25, 15.0), (0.5, 30.5)]) == pytest.approx(61.0)
    assert rule.shrink(61.0) == pytest.approx(17 / 61)
    # Fragments (the same size at every scale) and noise never agree; normal nuclei keep 1x.
    assert rule.estimate([(0.125, 14.0), (0.25, 15.0), (0.5, 16.0), (1.0, 17.0)]) is None
    assert rule.shrink(rule.estimate([(0.5, 9.5), (1.0, 18.0)])) == 1.0
    assert rule.estimate([(0.125, 0.0), (0.25, 0.0), (0.5, 8.0)]) is None
    for bad in ({"diameter": 0}, {"diameter": 17, "probes": [0.5, 0.25]},
                {"diameter": 17, "agree": 1.0}, {"diameter": 17, "colour": 1}, {}):
        with pytest.raises(ValueError):
            ScaleRule.from_dict(bad)
    assert ScaleRule(16.0, pixel_size=0.25).for_pixel_size(0.5) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="no known pixel size"):
        rule.for_pixel_size(0.5)


def test_python_api_takes_diameter():
    img, _ = _rescaled("dsb_fluo_2", 2)
    res = cellrt.segment(img, backend="onnxruntime", diameter=40.0)
    assert res.scale == pytest.approx(16.9 / 40.0, rel=0.05) and res.count > 0


@pytest.mark.parametrize("s,tile", [(1, 128), (3, 0)])
def test_table_shape_columns_are_skimage_on_the_final_labels(s, tile):
    """Every row's shape measurements are scikit-image's on the labels returned, whether the
    instance came from a tile or from a pass at another scale."""
    from skimage.measure import regionprops_table

    img, _ = _rescaled("dsb_fluo_2", s)
    res = Engine("nuclei-fluo", backend="onnxruntime", tile_size=tile).segment(img)
    assert res.count > 10
    sk = regionprops_table(res.labels, properties=(
        "label", "perimeter", "eccentricity", "axis_major_length", "axis_minor_length",
        "solidity"))
    np.testing.assert_array_equal(res.table["id"], sk["label"])
    for ours, theirs in [("perimeter", "perimeter"), ("eccentricity", "eccentricity"),
                         ("major_axis_length", "axis_major_length"),
                         ("minor_axis_length", "axis_minor_length"), ("solidity", "solidity")]:
        np.testing.assert_allclose(res.table[ours], sk[theirs], rtol=1e-9, atol=1e-9)
