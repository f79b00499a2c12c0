"""cellrt: fast, trustworthy cell and nucleus instance segmentation.

The compiled core (``cellrt._core``, and ``cellrt._cuda`` where nvcc was present at build time)
holds the post-processing kernels; :mod:`cellrt.ops` is their public, documented interface.
"""

from cellrt._backend import HAS_CUDA, build_info
from cellrt._version import __version__

__all__ = ["Engine", "HAS_CUDA", "__version__", "build_info", "ops", "segment"]


def __getattr__(name):
    # Imported on first use so `import cellrt` stays cheap.
    import importlib

    if name == "ops":
        return importlib.import_module("cellrt.ops")
    if name == "segment":
        return importlib.import_module("cellrt.pipeline.api").segment
    if name == "Engine":
        return importlib.import_module("cellrt.pipeline.engine").Engine
    if name == "runtime":
        return importlib.import_module("cellrt.runtime")
    raise AttributeError(f"module 'cellrt' has no attribute {name!r}")
