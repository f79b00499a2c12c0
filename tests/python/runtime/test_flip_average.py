"""Flip test-time augmentation (cellrt.runtime.flip_average) on the real ONNX Runtime backend:
the averaged maps are exactly flip-equivariant (distance channels swapped), differ from one
pass, keep the tiled result equal to the whole image, and reach `cellrt eval --flips`."""

import json
from pathlib import Path

import numpy as np
import pytest

import cellrt
from cellrt.io.images import read_image
from cellrt.io.normalize import normalize
from cellrt.runtime.flip_average import FlipAveragedBackend
from cellrt.runtime.onnx_backend import OnnxRuntimeBackend
from cellrt.runtime.package import ModelPackage

EXAMPLES = Path(cellrt.__file__).parent / "examples"


@pytest.fixture(scope="module")
def backends():
    plain = OnnxRuntimeBackend(ModelPackage.load("nuclei-fluo"), threads=2)
    return plain, FlipAveragedBackend(plain)


def _batch() -> np.ndarray:
    # A crop of a real image whose sides are multiples of the network's down-sampling.
    img = read_image(EXAMPLES / "dsb_fluo_3.png")[:128, :160]
    return np.ascontiguousarray(normalize(img, 1).transpose(2, 0, 1)[None], np.float32)


def test_averaged_maps_are_flip_equivariant(backends):
    plain, averaged = backends
    x = _batch()
    out = averaged.run(x)
    mirrored = averaged.run(np.ascontiguousarray(x[..., ::-1]))
    # Mirroring the input mirrors every map and swaps the left and right distances.
    np.testing.assert_allclose(mirrored["fg_prob"], out["fg_prob"][..., ::-1], atol=1e-5)
    np.testing.assert_allclose(mirrored["dist"], out["dist"][:, [1, 0, 2, 3], :, ::-1],
                               atol=1e-3)
    upside_down = averaged.run(np.ascontiguousarray(x[..., ::-1, :]))
    np.testing.assert_allclose(upside_down["dist"], out["dist"][:, [0, 1, 3, 2], ::-1],
                               atol=1e-3)
    # One pass is not equivariant, and the average is close to it but not equal.
    one = plain.run(x)
    assert not np.allclose(plain.run(np.ascontiguousarray(x[..., ::-1]))["dist"],
                           one["dist"][:, [1, 0, 2, 3], :, ::-1], atol=1e-3)
    assert 0 < np.abs(out["fg_prob"] - one["fg_prob"]).mean() < 0.05
    assert (averaged.name, averaged.precision) == (plain.name, plain.precision)


def test_tiled_equals_whole_image_with_flips():
    from tests.python.engine.test_tiling import _mosaic

    img = _mosaic()
    engine = cellrt.Engine("nuclei-fluo", backend="onnxruntime", flips=True, tile_size=0)
    whole = engine.segment(img)
    tiled = cellrt.Engine("nuclei-fluo", backend="onnxruntime", flips=True,
                          tile_size=200).segment(img)
    assert whole.count > 100
    np.testing.assert_array_equal(tiled.labels, whole.labels)
    plain = cellrt.Engine("nuclei-fluo", backend="onnxruntime", tile_size=0).segment(img)
    assert not np.array_equal(plain.labels, whole.labels)


def test_eval_cli_with_flips(tmp_path):
    from tests.python.engine.test_segment_cli import run_cli
    from tests.python.datasets import example_dataset

    data = example_dataset(tmp_path, {"test": ["e0", "e1"]})
    r = run_cli("eval", "--model", "nuclei-fluo", "--data", data, "--backend", "onnxruntime",
                "--flips", "--json", tmp_path / "m.json")
    assert r.returncode == 0, r.stderr
    assert "maps averaged over 4 flips" in r.stdout
    rep = json.loads((tmp_path / "m.json").read_text())
    assert rep["flips"] is True and 0.3 < rep["groups"]["all"]["ap50"] <= 1
