"""Every network backend against the trained network itself (torch eager, training form), on
real images; the registry's errors; thread safety."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from cellrt.engine.segment import fill_input, prepare
from cellrt.families import bind
from cellrt.runtime.backends import (
    NAMES,
    BackendUnavailable,
    backend_status,
    create_backend,
)
from cellrt.runtime.package import ModelPackage, PackageError, write_package

CPU_FP32 = [("onnxruntime", "fp32"), ("openvino", "fp32"), ("torch", "fp32")]


def _usable(name, precision="fp32"):
    st = backend_status()[name]
    if not st["usable"] or precision not in st["precisions"]:
        pytest.skip(f"{name} {precision} not usable here: {st['reason']}")


def _net_input(image, config):
    prep = prepare(image, bind(config), tile_size=0)
    x = np.empty((1, prep.norm.shape[2], *prep.plan.net_shape(prep.tiles[0])), np.float32)
    fill_input(x[0], prep, prep.tiles[0])
    return x


@pytest.mark.parametrize("model", ["nuclei-fluo", "nuclei-he"])
@pytest.mark.parametrize("name,precision", CPU_FP32)
def test_fp32_backends_match_torch_eager(model, name, precision, example_images):
    """The exported deploy graph (re-parameterised, BN folded), run by each backend on real
    images: < 1e-3 from torch eager of the same module, and < 1e-3 from the trained network
    itself (training form, un-folded) computed exactly (float64)."""
    pytest.importorskip("torch")
    _usable(name, precision)
    from cellrt.export.package import export_differences

    pkg = ModelPackage.load(model)
    backend = create_backend(pkg, name, precision)
    got = backend.run(_net_input(example_images[0], pkg.config))
    assert set(got) == set(pkg.config.outputs)
    assert all(v.dtype == np.float32 for v in got.values())
    diffs = export_differences(pkg, [example_images[0], example_images[3]], backend)
    print(f"{model} {name}: max abs difference {diffs}")
    assert diffs["eager_fp32"] < 1e-3 and diffs["exact_fp64"] < 1e-3


def test_bf16_is_close_but_not_identical(example_images):
    """bf16 really runs in reduced precision (else the auto gate would be vacuous) yet stays
    near fp32: probabilities within 0.15."""
    _usable("openvino", "bf16")
    pkg = ModelPackage.load("nuclei-fluo")
    x = _net_input(example_images[3], pkg.config)
    ref = create_backend(pkg, "onnxruntime").run(x)
    low = create_backend(pkg, "openvino", "bf16").run(x)
    diff = float(np.abs(low["fg_prob"] - ref["fg_prob"]).max())
    assert 1e-4 < diff < 0.15


@pytest.mark.parametrize("name", ["onnxruntime", "openvino", "torch"])
def test_backend_is_thread_safe(name, example_images):
    _usable(name)
    pkg = ModelPackage.load("nuclei-fluo")
    backend = create_backend(pkg, name, threads=1)
    inputs = [_net_input(img, pkg.config) for img in example_images] * 2
    expected = [backend.run(x)["dist"] for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: backend.run(x)["dist"], inputs))
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_registry_errors():
    pkg = ModelPackage.load("nuclei-fluo")
    with pytest.raises(ValueError, match="backend must be one of .*got 'cuda'"):
        create_backend(pkg, "cuda")
    with pytest.raises(ValueError, match="precision must be one of .*got 'int8'"):
        create_backend(pkg, "onnxruntime", "int8")
    with pytest.raises(BackendUnavailable, match="'onnxruntime' offers fp32 here, not bf16"):
        create_backend(pkg, "onnxruntime", "bf16")


def test_status_lists_every_backend_with_a_reason():
    status = backend_status()
    assert list(status) == list(NAMES)
    assert status["onnxruntime"] == {"usable": True, "precisions": ["fp32"], "reason": None}
    for name, st in status.items():
        if st["usable"]:
            assert "fp32" in st["precisions"] and st["reason"] is None
        else:
            assert st["precisions"] == [] and len(st["reason"]) > 10
            with pytest.raises(BackendUnavailable, match="."):
                create_backend(ModelPackage.load("nuclei-fluo"), name)


def test_torch_backend_needs_weights(tmp_path):
    pytest.importorskip("torch")
    pkg = ModelPackage.load("nuclei-fluo")
    path = write_package(tmp_path / "no_weights.cellrt",
                         pkg.config.to_dict(),
                         pkg.onnx_bytes)
    with pytest.raises(PackageError, match="no weights.pt, which the torch backend needs"):
        create_backend(ModelPackage.load(path), "torch")


@pytest.mark.parametrize("name", ["onnxruntime", "openvino"])
def test_corrupt_onnx_is_one_clear_error(name, tmp_path):
    _usable(name)
    pkg = ModelPackage.load("nuclei-fluo")
    path = write_package(tmp_path / "bad.cellrt",
                         pkg.config.to_dict(),
                         pkg.onnx_bytes[: len(pkg.onnx_bytes) // 3])
    with pytest.raises(PackageError, match=r"bad.cellrt: model.onnx cannot be"):
        create_backend(ModelPackage.load(path), name)
