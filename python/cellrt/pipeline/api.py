"""`cellrt.segment(array, model=...)`: the one-call Python API over a cached model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from cellrt.pipeline.segment import SegmentResult, segment_image
from cellrt.runtime.package import ModelPackage

_CACHE: dict = {}
_LOCK = threading.Lock()


def load_model(model: str | Path = "nuclei-fluo", threads: int = 0):
    """(package, backend) for a shipped model name or a package path; cached per process."""
    key = (str(model), threads)
    with _LOCK:
        if key not in _CACHE:
            from cellrt.runtime.onnx_backend import OnnxRuntimeBackend

            pkg = ModelPackage.load(model)
            _CACHE[key] = (pkg, OnnxRuntimeBackend(pkg, threads=threads))
        return _CACHE[key]


def segment(image: np.ndarray, model: str | Path = "nuclei-fluo", tile_size: int | None = None,
            threads: int = 0) -> SegmentResult:
    """Segment every nucleus of one image.

    image: (H, W) gray or (H, W, 3) RGB array, any of uint8/uint16/int/float (finite).
    model: shipped model name ("nuclei-fluo", "nuclei-he") or a .cellrt package path.
    tile_size: core tile side in pixels (None: the model's default; 0: whole image at once).
    Returns labels (H, W) int32 numbered 1..N in raster order, and the object table.
    """
    pkg, backend = load_model(model, threads)
    return segment_image(image, backend, pkg.config, tile_size=tile_size)
