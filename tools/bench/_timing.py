"""Timing helpers shared by the benchmarks: medians over repeats after warm-up, records in the
format every bench prints and writes:
{"op", "case", "ours_ms", "peer", "peer_ms", "ratio"} with ratio = peer_ms / ours_ms."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def median_ms(fn: Callable[[], object], repeats: int = 7, warmup: int = 1,
              min_time_s: float = 0.0) -> float:
    """Median wall time of fn() in milliseconds. Runs at least `repeats` times and, if
    `min_time_s` is given, until that much time was spent (for very fast calls)."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start) < min_time_s:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def record(op: str, case: str, ours_ms: float, peer: str, peer_ms: float, **extra) -> dict:
    rec = {"op": op, "case": case, "ours_ms": round(ours_ms, 4), "peer": peer,
           "peer_ms": round(peer_ms, 4), "ratio": round(peer_ms / ours_ms, 2) if ours_ms > 0 else None}
    rec.update(extra)
    return rec


def set_threads(n: int) -> None:
    """Pin cellrt, torch and the BLAS pools to n threads so ratios compare like with like."""
    import os

    from cellrt import _core

    _core.set_num_threads(n)
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass
