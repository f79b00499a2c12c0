"""`cellrt.segment(array, model=...)`: the one-call Python API over a cached cellrt.Engine."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from cellrt.engine.engine import Engine
from cellrt.engine.result import SegmentResult

_CACHE: dict = {}
_LOCK = threading.Lock()


def get_engine(model: str | Path = "nuclei-fluo", backend: str = "auto", threads: int = 0,
               tile_size: int | None = None, upscale: bool = True,
               flips: bool = False, log=None) -> Engine:
    """An Engine for these settings, created once per process and shared (it is thread-safe).
    `log`: see Engine (used when this call creates the engine)."""
    key = (str(model), backend, threads, tile_size, upscale, flips)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Engine(model, backend=backend, threads=threads, tile_size=tile_size,
                                 upscale=upscale, flips=flips, log=log)
        return _CACHE[key]


def segment(image: np.ndarray, model: str | Path = "nuclei-fluo", tile_size: int | None = None,
            threads: int = 0, backend: str = "auto", upscale: bool = True,
            flips: bool = False, diameter: float | None = None,
            pixel_size: float | None = None) -> SegmentResult:
    """Segment every nucleus of one image.

    image: (H, W) gray or (H, W, 3) RGB array, any of uint8/uint16/int/float (finite).
    model: shipped model name ("nuclei-fluo", "nuclei-he") or a .cellrt package path.
    tile_size: core tile side in pixels (None: the model's default; 0: whole image at once).
    backend: "auto" (fastest accurate backend here, measured once and cached), "onnxruntime",
    "openvino", "torch" or "tensorrt".
    upscale: find the nuclei's scale per image (coarse probes shrink images of large nuclei to
    the model's training size; a pass at 2x for small ones); False: always one pass at 1x.
    diameter: typical nucleus diameter in pixels, or pixel_size: µm per pixel of the image;
    either resizes the image to the model's training scale instead (result.scale says which
    scale was used).
    flips: average the network's maps over the four flips of the image (test-time
    augmentation, cellrt.runtime.flip_average): a little more accurate, 4x the network time.
    Returns labels (H, W) int32 numbered 1..N in raster order, and the object table.
    """
    engine = get_engine(model, backend, threads, tile_size, upscale, flips)
    return engine.segment(image, diameter=diameter, pixel_size=pixel_size)
