"""Which compiled modules are present and usable, and the backend choice for an op call.

``cellrt._core`` (CPU) is always built. ``cellrt._cuda`` exists only when nvcc was present at build
time, and is usable only when a CUDA device is visible; ``CUDA_UNAVAILABLE_REASON`` records exactly
why not, so asking for ``backend="cuda"`` fails with that reason instead of a bare ImportError.
"""

from __future__ import annotations

import importlib
import importlib.util
import platform

from cellrt import _core

_cuda = None
if importlib.util.find_spec("cellrt._cuda") is None:
    _setting = _core.build_info()["cuda_setting"]
    CUDA_UNAVAILABLE_REASON = "cellrt was built without CUDA (" + (
        "CELLRT_CUDA=OFF)" if _setting == "OFF"
        else f"CELLRT_CUDA={_setting} and nvcc was not found at build time)")
else:
    try:
        _cuda = importlib.import_module("cellrt._cuda")
    except ImportError as exc:  # built, but a shared library it needs is missing
        CUDA_UNAVAILABLE_REASON = f"cellrt._cuda failed to import: {exc}"

if _cuda is None:
    CUDA_DEVICE_COUNT = 0
else:
    CUDA_DEVICE_COUNT, _reason = _cuda.device_status()
    CUDA_UNAVAILABLE_REASON = (
        f"cellrt._cuda is built but unusable: {_reason}" if CUDA_DEVICE_COUNT == 0 else ""
    )

HAS_CUDA: bool = CUDA_DEVICE_COUNT > 0

_BACKENDS = ("auto", "cpu", "cuda")


def build_info() -> dict:
    """Facts about this build: version, compiler, OpenMP, SIMD level, CUDA and GPU usability."""
    from cellrt._version import __version__

    info = {"version": __version__, "python": platform.python_version(), **_core.build_info()}
    info["num_threads"] = _core.get_num_threads()
    info["cuda_compiled"] = _cuda is not None
    if _cuda is not None:
        info.update(_cuda.build_info())
    info["cuda_device_count"] = CUDA_DEVICE_COUNT
    info["gpu_usable"] = HAS_CUDA
    info["gpu_unusable_reason"] = CUDA_UNAVAILABLE_REASON or None
    return info


def resolve_backend(op: str, backend: str, on_cuda_device: bool) -> str:
    """Return "cpu" or "cuda" for an op call.

    ``"auto"`` follows the data: CUDA tensors run on the GPU, everything else on the CPU.
    Asking for a device the data is not on is an error rather than a silent copy.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"{op}: backend must be one of {_BACKENDS}, got {backend!r}")
    if backend == "auto":
        backend = "cuda" if on_cuda_device else "cpu"
    if backend == "cuda":
        if not HAS_CUDA:
            raise RuntimeError(f"{op}: backend 'cuda' is not available: {CUDA_UNAVAILABLE_REASON}")
        if not on_cuda_device:
            raise ValueError(f"{op}: backend 'cuda' needs torch CUDA tensors, got host data")
    elif on_cuda_device:
        raise ValueError(f"{op}: backend 'cpu' got CUDA tensors; move them with .cpu() first")
    return backend


def cuda_module():
    """The _cuda module, for wrappers that already resolved the backend to "cuda"."""
    return _cuda
