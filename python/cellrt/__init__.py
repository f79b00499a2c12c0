"""cellrt: fast, trustworthy cell and nucleus instance segmentation.

    result = cellrt.segment(image, model="nuclei-fluo")   # labels + ObjectTable
    engine = cellrt.Engine("nuclei-fluo")                  # reused across calls; segment_many

Layers, each importing only from those below it (tests/test_layering.py checks; the order is
written once there, docs/architecture.md explains it): cli -> this module -> calibrate, train,
export -> engine -> families -> runtime -> models -> io, metrics -> torch -> ops -> reference ->
the compiled modules (``cellrt._core``, and ``cellrt._cuda`` where nvcc was present at build
time). :mod:`cellrt.ops` is the documented interface of the compiled kernels.
"""

from cellrt._backend import HAS_CUDA, build_info
from cellrt._version import __version__

__all__ = ["Engine", "HAS_CUDA", "ObjectTable", "SegmentResult", "__version__", "build_info",
           "ops", "segment", "shipped_models"]


def __getattr__(name):
    # Imported on first use so `import cellrt` stays cheap.
    import importlib

    if name == "ops":
        return importlib.import_module("cellrt.ops")
    if name == "segment":
        return importlib.import_module("cellrt.engine.api").segment
    if name == "Engine":
        return importlib.import_module("cellrt.engine.engine").Engine
    if name == "ObjectTable":
        return importlib.import_module("cellrt.io.table").ObjectTable
    if name == "SegmentResult":
        return importlib.import_module("cellrt.engine.result").SegmentResult
    if name == "shipped_models":
        return importlib.import_module("cellrt.runtime.package").shipped_models
    if name == "runtime":
        return importlib.import_module("cellrt.runtime")
    raise AttributeError(f"module 'cellrt' has no attribute {name!r}")


def __dir__():
    # The public API, though most of it is imported only on first use.
    return sorted(set(__all__) | set(globals()))
