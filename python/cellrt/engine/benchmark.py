"""Per-stage latency of the whole segmentation pipeline, several backends side
by side in one run.

The input is real: the shipped example images tiled into a mosaic of the requested size, written
to a TIFF file, so every repetition includes reading it. Stages: read, normalise, network,
postprocess, stitch, and total (end to end). With --batch 1 each repetition is one
`Engine.segment` call (latency); with --batch B > 1 each repetition sends B copies through
`Engine.segment_many` (throughput; tiles pooled into network batches of B).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from cellrt.engine.engine import Engine
from cellrt.engine.result import STAGES
from cellrt.io.examples import example_images
from cellrt.runtime.backends import NAMES, PRECISIONS

PERCENTILES = (50, 95, 99)


def silent(line: str) -> None:
    """The default `log` of run_bench: progress lines go nowhere (`cellrt bench` prints them)."""


def mosaic(size: int) -> np.ndarray:
    """A size x size image tiled from the shipped examples (real nuclei, real noise)."""
    # The gray (fluorescence) examples only: one modality, as a real plate image would be.
    tiles = [img.astype(np.float32) for img, _ in example_images() if img.ndim == 2]
    # Every example scaled to its own 1-99.8 percentile range first, so seams do not carry a
    # brightness step that whole-image normalisation would then have to absorb.
    tiles = [np.clip((t - lo) / max(hi - lo, 1e-6), 0, 1)
             for t in tiles for lo, hi in [np.percentile(t, [1.0, 99.8])]]
    out = np.zeros((size, size), np.float32)
    y = 0
    i = 0
    while y < size:
        x, row_h = 0, 0
        while x < size:
            t = tiles[i % len(tiles)]
            i += 1
            h, w = min(t.shape[0], size - y), min(t.shape[1], size - x)
            out[y:y + h, x:x + w] = t[:h, :w]
            x += w
            row_h = max(row_h, h)
        y += row_h
    return (out * 65535).astype(np.uint16)


def _stats(values_s: list[float]) -> dict:
    ms = np.asarray(values_s) * 1e3
    return {f"p{p}_ms": round(float(np.percentile(ms, p)), 3) for p in PERCENTILES}


def bench_one(engine, path: Path, size: int, batch: int, repeat: int, warmup: int = 1) -> dict:
    """One (backend, size, batch) run: stage percentiles over `repeat` repetitions."""
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES + ("total",)}
    walls = []
    for rep in range(warmup + repeat):
        t0 = time.perf_counter()
        if batch == 1:
            results = [engine.segment(path)]
        else:
            results = list(engine.segment_many([path] * batch, batch_size=batch))
        wall = time.perf_counter() - t0
        if rep < warmup:
            continue
        walls.append(wall)
        for res in results:
            for s in STAGES:
                per_stage[s].append(res.timings.get(s, 0.0))
            per_stage["total"].append(wall if batch == 1 else wall / batch)
    images_per_s = batch * len(walls) / sum(walls)
    return {"size": size, "batch": batch, "repeat": repeat, "objects": results[0].count,
            "stages": {s: _stats(v) for s, v in per_stage.items()},
            "images_per_s": round(images_per_s, 3),
            "megapixels_per_s": round(images_per_s * size * size / 1e6, 3)}


def parse_backend(spec: str) -> tuple[str, str]:
    """"openvino:bf16" -> ("openvino", "bf16"); "torch" -> ("torch", "auto")."""
    name, _, precision = spec.partition(":")
    if name not in ("auto",) + NAMES or (precision and precision not in PRECISIONS):
        raise ValueError(f"bench: --backend takes NAME[:PRECISION] with NAME in "
                         f"{('auto',) + NAMES} and PRECISION in {PRECISIONS}, got {spec!r}")
    if name == "auto" and precision:
        raise ValueError(f"bench: 'auto' chooses its own precision, got {spec!r}")
    return name, precision or "auto"


def run_bench(model: str, backends: list[str], sizes: list[int], batch: int, repeat: int,
              threads: int = 0, tile_size: int | None = None, log=silent) -> dict:
    """Every (size, backend) run, each reported through `log` as it finishes."""
    import tifffile

    runs = []
    with tempfile.TemporaryDirectory(prefix="cellrt-bench-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"mosaic_{size}.tif"
            tifffile.imwrite(path, mosaic(size))
            for name in backends:
                backend, precision = parse_backend(name)
                log(f"bench: {name} at {size}^2, batch {batch}: building the engine, one warm-up "
                    f"and {repeat} timed runs")
                engine = Engine(model, backend=backend, precision=precision, threads=threads,
                                tile_size=tile_size, batch_size=batch, log=log)
                run = {"backend": name, "resolved": f"{engine.backend.name}",
                       "precision": engine.backend.precision,
                       **bench_one(engine, path, size, batch, repeat)}
                runs.append(run)
                log(format_run(run))
    return {"model": model, "threads": threads, "runs": runs}


def format_run(run: dict) -> str:
    st = run["stages"]
    stages = "  ".join(f"{s} {st[s]['p50_ms']:.1f}/{st[s]['p99_ms']:.1f}" for s in st)
    return (f"{run['backend']:<11} ({run['resolved']} {run['precision']}) {run['size']}^2 "
            f"batch {run['batch']}: {run['images_per_s']:.2f} img/s, "
            f"{run['megapixels_per_s']:.2f} MP/s | p50/p99 ms: {stages}")
