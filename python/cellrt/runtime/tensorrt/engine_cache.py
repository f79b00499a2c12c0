"""The on-disk engine cache: key, paths and the load-or-build policy (pure functions)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Callable

from cellrt.io.atomic import atomic_write_bytes
from cellrt.runtime.tensorrt.profiles import Profile

_log = logging.getLogger("cellrt.runtime.tensorrt")

# Bumped whenever what we feed the builder changes beyond the key's inputs (flags, workspace...),
# so engines built by an older cellrt are not mistaken for current ones.
ENGINE_CACHE_FORMAT = 1

def default_cache_dir() -> Path:
    """$CELLRT_CACHE_DIR/tensorrt, by default ~/.cache/cellrt/tensorrt (cellrt.runtime.cache)."""
    from cellrt.runtime.cache import cache_dir

    return cache_dir("tensorrt")


def engine_key(gpu_name: str, compute_capability: tuple[int, int], trt_version: str,
               onnx_sha256: str, precision: str, profile: Profile) -> str:
    """sha256 (hex) over everything an engine depends on: another GPU model, TensorRT version,
    graph, precision or profile needs another engine."""
    fields = {
        "format": ENGINE_CACHE_FORMAT,
        "gpu_name": gpu_name,
        "compute_capability": [int(v) for v in compute_capability],
        "tensorrt": trt_version,
        "onnx_sha256": onnx_sha256,
        "precision": precision,
        "profile": [[int(v) for v in s] for s in profile],
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def engine_path(key: str, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"{key}.engine"


def timing_cache_path(cache_dir: Path, gpu_name: str, compute_capability: tuple[int, int],
                      trt_version: str) -> Path:
    """The timing cache shared by all engines built for one GPU model and TensorRT version (its
    entries are per layer configuration, so every model and profile benefits); another GPU or
    version gets its own file rather than overwriting this one."""
    tag = json.dumps([gpu_name, [int(v) for v in compute_capability], trt_version])
    return Path(cache_dir) / f"timing-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.cache"


def load_or_build(path: Path, deserialize: Callable[[bytes], object | None],
                  build: Callable[[], bytes]) -> tuple[object, bool]:
    """(engine, built): the engine cached at `path`, or a freshly built one written there.

    `deserialize` returns None for bytes it cannot use (corrupt, truncated, another TensorRT or
    GPU): the cache is only a cache, so that means a rebuild, never an error.
    """
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        blob = None
    except OSError as exc:
        _log.warning("cannot read cached TensorRT engine %s (%s); rebuilding", path, exc)
        blob = None
    if blob is not None:
        engine = deserialize(blob)
        if engine is not None:
            return engine, False
        _log.warning("cached TensorRT engine %s does not load here; rebuilding", path)
    blob = build()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, blob)
    engine = deserialize(blob)
    if engine is None:
        raise RuntimeError(f"TensorRT cannot load the engine it has just built ({path})")
    return engine, True

