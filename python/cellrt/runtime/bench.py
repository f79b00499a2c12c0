"""`cellrt bench`: per-stage latency of the whole segmentation pipeline, several backends side
by side in one run.

The input is real: the shipped example images tiled into a mosaic of the requested size, written
to a TIFF file, so every repetition includes reading it. Stages: read, normalise, network,
postprocess, stitch, and total (end to end). With --batch 1 each repetition is one
`Engine.segment` call (latency); with --batch B > 1 each repetition sends B copies through
`Engine.segment_many` (throughput; tiles pooled into network batches of B).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from cellrt.pipeline.segment import STAGES

PERCENTILES = (50, 95, 99)


def mosaic(size: int) -> np.ndarray:
    """A size x size image tiled from the shipped examples (real nuclei, real noise)."""
    from cellrt.runtime.auto import example_images

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
    from cellrt.runtime.backends import NAMES, PRECISIONS

    name, _, precision = spec.partition(":")
    if name not in ("auto",) + NAMES or (precision and precision not in PRECISIONS):
        raise ValueError(f"bench: --backend takes NAME[:PRECISION] with NAME in "
                         f"{('auto',) + NAMES} and PRECISION in {PRECISIONS}, got {spec!r}")
    if name == "auto" and precision:
        raise ValueError(f"bench: 'auto' chooses its own precision, got {spec!r}")
    return name, precision or "auto"


def run_bench(model: str, backends: list[str], sizes: list[int], batch: int, repeat: int,
              threads: int = 0, tile_size: int | None = None, log=print) -> dict:
    import tifffile

    from cellrt.pipeline.engine import Engine

    runs = []
    with tempfile.TemporaryDirectory(prefix="cellrt-bench-") as tmp:
        for size in sizes:
            path = Path(tmp) / f"mosaic_{size}.tif"
            tifffile.imwrite(path, mosaic(size))
            for name in backends:
                backend, precision = parse_backend(name)
                engine = Engine(model, backend=backend, precision=precision, threads=threads,
                                tile_size=tile_size, batch_size=batch)
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


def add_parser(sub) -> None:
    from cellrt.pipeline.cli import add_backend_argument

    p = sub.add_parser("bench", help="per-stage latency (p50/p95/p99) and throughput by backend")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    add_backend_argument(p, multiple=True)
    p.add_argument("--size", type=int, nargs="+", default=[1024], help="image side(s) in pixels")
    p.add_argument("--batch", type=int, default=1,
                   help="1: single segment calls; B > 1: B images per segment_many call")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="network threads (0: backend default)")
    p.add_argument("--tile-size", type=int, default=None)
    p.add_argument("--json", metavar="PATH", help="write the runs as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for spec in args.backend:
        parse_backend(spec)  # every spec checked before anything runs
    if any(s < 16 for s in args.size):
        raise ValueError(f"bench: --size must be >= 16, got {args.size}")
    if args.batch < 1 or args.repeat < 1:
        raise ValueError(f"bench: --batch and --repeat must be >= 1, got {args.batch}, "
                         f"{args.repeat}")
    report = run_bench(args.model, args.backend, args.size, args.batch, args.repeat,
                       args.threads, args.tile_size)
    if args.json:
        from cellrt.io.outputs import atomic_write_bytes

        atomic_write_bytes(args.json, json.dumps(report, indent=2).encode())
    return 0
