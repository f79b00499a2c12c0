"""The wrong model says so, and --model auto picks the right one (cellrt.engine.fit)."""

from pathlib import Path

import numpy as np
import pytest

from cellrt.engine.engine import Engine
from cellrt.engine.fit import fit_warnings, look, pick_model
from cellrt.engine.result import SegmentResult
from cellrt.io.images import read_image
from cellrt.io.table import ObjectTable
from cellrt.runtime.package import ModelPackage
from tests.python.engine.test_segment_cli import EXAMPLES, run_cli

HE = Path(__file__).parents[2] / "data" / "consep_test_11_008.jpg"


def test_pick_model_by_look():
    assert pick_model(read_image(EXAMPLES / "dsb_fluo_0.png"))[0] == "nuclei-fluo"
    # A purple-stained DSB field: the fluorescence model finds its nuclei, the H&E one does not.
    stained = read_image(EXAMPLES / "dsb_stained_0.png")
    assert not look(stained).gray and pick_model(stained)[0] == "nuclei-fluo"
    he = read_image(HE)
    assert look(he).he and pick_model(he)[0] == "nuclei-he"
    # Gray saved as RGB is gray.
    rgb_gray = np.repeat(read_image(EXAMPLES / "dsb_fluo_0.png")[..., None], 3, axis=2)
    assert look(rgb_gray).gray and pick_model(rgb_gray)[0] == "nuclei-fluo"


def test_he_model_on_fluorescence_warns_and_names_the_better_model():
    res = Engine("nuclei-he", backend="onnxruntime").segment(
        read_image(EXAMPLES / "dsb_fluo_0.png"))
    assert len(res.warnings) == 1
    assert "expects colour" in res.warnings[0] and "--model nuclei-fluo" in res.warnings[0]


def test_fitting_images_give_no_warning():
    fluo = Engine("nuclei-fluo", backend="onnxruntime")
    assert fluo.segment(read_image(EXAMPLES / "dsb_fluo_2.png")).warnings == []
    he = Engine("nuclei-he", backend="onnxruntime")
    assert he.segment(read_image(HE)).warnings == []
    # An empty field is a result, not a misfit.
    assert fluo.segment(np.zeros((64, 64), np.uint8)).warnings == []


def _result(n: int, area: int, scale: float = 1.0) -> SegmentResult:
    labels = np.zeros((8, 8), np.int32)
    table = ObjectTable.from_columns({"id": np.arange(1, n + 1), "area": np.full(n, area),
                                      "score": np.ones(n), "bbox": np.zeros((n, 4)),
                                      "centroid": np.zeros((n, 2))})
    return SegmentResult(labels, table, scale=scale)


def test_zero_objects_on_structure_and_far_sizes_warn():
    config = ModelPackage.load("nuclei-fluo").config
    he = read_image(HE)
    (w,) = fit_warnings(config, he, _result(0, 0))
    assert "0 objects on an image with structure" in w and "--model nuclei-he" in w
    assert fit_warnings(config, np.full((64, 64), 7, np.uint8), _result(0, 0)) == []
    fluo = read_image(EXAMPLES / "dsb_fluo_0.png")
    assert fit_warnings(config, fluo, _result(20, 250)) == []  # 17.8 px: the training size
    (w,) = fit_warnings(config, fluo, _result(20, 5000))  # 80 px nuclei, segmented at 1x
    assert "--diameter" in w and "trained on 17 px" in w
    assert fit_warnings(config, fluo, _result(20, 5000, scale=0.2)) == []  # shrunk to 16 px


@pytest.mark.parametrize("image,model", [(EXAMPLES / "dsb_fluo_1.png", "nuclei-fluo"),
                                         (HE, "nuclei-he")])
def test_cli_model_auto_says_what_it_picked(tmp_path, image, model):
    r = run_cli("segment", image, "-o", tmp_path / "o", "--model", "auto",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert f"(model {model}: " in r.stdout
    assert "warning" not in r.stderr


def test_cli_prints_the_warning(tmp_path):
    r = run_cli("segment", EXAMPLES / "dsb_fluo_1.png", "-o", tmp_path / "o", "--model",
                "nuclei-he", "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert "cellrt segment: warning:" in r.stderr and "--model nuclei-fluo" in r.stderr
