"""The build facts and the backend choice, on this machine (no GPU) and in general."""

import json
import subprocess
import sys

import numpy as np
import pytest

import cellrt
from cellrt import _backend


def test_build_info_reports_every_fact():
    info = cellrt.build_info()
    for key in ("version", "compiler", "openmp", "simd", "cuda_compiled", "gpu_usable",
                "gpu_unusable_reason", "num_threads"):
        assert key in info
    assert info["version"] == cellrt.__version__
    assert isinstance(info["openmp"], bool)
    if info["cuda_compiled"]:
        assert info["cuda_architectures"]
        assert info["cuda_compiler_version"]
    # Usable GPU and a reason for it being unusable are mutually exclusive.
    assert info["gpu_usable"] == (info["gpu_unusable_reason"] is None)


def test_cuda_unavailable_reason_is_specific():
    if _backend.HAS_CUDA:
        pytest.skip("a GPU is usable here")
    import importlib.util

    reason = _backend.CUDA_UNAVAILABLE_REASON
    built = importlib.util.find_spec("cellrt._cuda") is not None
    assert reason.startswith("cellrt._cuda is built but unusable: " if built
                             else "cellrt was built without CUDA")
    with pytest.raises(RuntimeError, match="backend 'cuda' is not available: " + reason[:20]):
        _backend.resolve_backend("nms", "cuda", on_cuda_device=False)


def test_cuda_module_imports_without_gpu_when_built():
    # The CUDA runtime is linked statically: importing must work with no driver at all.
    mod = _backend.cuda_module()
    if mod is None:
        pytest.skip(_backend.CUDA_UNAVAILABLE_REASON)
    count, reason = mod.device_status()
    assert count >= 0
    assert (count == 0) == bool(reason)


def test_resolve_backend_rules():
    assert _backend.resolve_backend("op", "auto", on_cuda_device=False) == "cpu"
    assert _backend.resolve_backend("op", "cpu", on_cuda_device=False) == "cpu"
    with pytest.raises(ValueError, match=r"op: backend must be one of"):
        _backend.resolve_backend("op", "tpu", on_cuda_device=False)
    with pytest.raises(ValueError, match="backend 'cpu' got CUDA tensors"):
        _backend.resolve_backend("op", "cpu", on_cuda_device=True)


def test_thread_count_roundtrip():
    before = cellrt._core.get_num_threads()
    try:
        cellrt._core.set_num_threads(1)
        assert cellrt._core.get_num_threads() == 1
    finally:
        cellrt._core.set_num_threads(before)
    with pytest.raises(ValueError, match="set_num_threads: n must be >= 1, got 0"):
        cellrt._core.set_num_threads(0)


def test_cli_info_json_matches_build_info():
    out = subprocess.run([sys.executable, "-m", "cellrt.cli", "info", "--json"],
                         capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["compiler"] == cellrt.build_info()["compiler"]


def test_cli_info_table():
    out = subprocess.run([sys.executable, "-m", "cellrt.cli", "info"],
                         capture_output=True, text=True, check=True)
    assert "gpu_usable" in out.stdout and "openmp" in out.stdout


def test_core_import_does_not_import_torch():
    code = ("import sys, cellrt, cellrt.ops; import numpy as np; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_numpy_input_helper_errors():
    from cellrt.ops._arrays import to_numpy

    with pytest.raises(TypeError, match=r"op: x must be a numpy.ndarray or torch.Tensor, got dict"):
        to_numpy({}, "op", "x")
    with pytest.raises(TypeError, match=r"op: x must have dtype in \(float32\), got int64"):
        to_numpy(np.zeros(3, np.int64), "op", "x", dtypes=[np.float32])
    with pytest.raises(ValueError, match=r"op: x must be 2-D, got shape \(3,\)"):
        to_numpy(np.zeros(3), "op", "x", ndim=2)
