"""boundary_votes vs the same votes in vectorised NumPy (targets computed as arrays, then one
np.bincount): the fastest plain-NumPy formulation, on cell-like exact boundary-distance maps
(random discs, 1024^2 and 2048^2). "match" checks identical counts.

    PYTHONPATH=python python tools/bench/bench_boundary_votes.py [--quick]
"""

from __future__ import annotations

import sys

import numpy as np

try:
    from tools.bench import _timing
    from tools.bench.bench_label import cell_mask
except ImportError:  # run as a script: tools/bench is on sys.path
    import _timing
    from bench_label import cell_mask


def numpy_votes(dist: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The op's semantics (NaN-free input) with NumPy array operations."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    l, r, u, d = (dist[k, ys, xs].astype(np.float64) for k in range(4))
    cx = np.clip(np.floor(xs + 0.5 * (r - l) + 0.5), 0, w - 1).astype(np.int64)
    cy = np.clip(np.floor(ys + 0.5 * (d - u) + 0.5), 0, h - 1).astype(np.int64)
    return np.bincount(cy * w + cx, minlength=h * w).reshape(h, w).astype(np.int32)


def run(quick: bool = False) -> list[dict]:
    import cellrt.ops as ops
    from cellrt import ops as _ops  # noqa: F401  (import cost outside the timings)
    from cellrt.train.targets import boundary_distances

    _timing.set_threads(2)
    repeats = 5 if quick else 30
    records = []
    for size, n in ((1024, 500), (2048, 2000)):
        mask = cell_mask(size, size, n) > 0
        labels = ops.label(mask, 1)
        dist = boundary_distances(labels)
        match = bool(np.array_equal(ops.boundary_votes(dist, mask), numpy_votes(dist, mask)))
        t_ours = _timing.median_ms(lambda: ops.boundary_votes(dist, mask), repeats=repeats,
                                   warmup=2)
        t_np = _timing.median_ms(lambda: numpy_votes(dist, mask), repeats=repeats, warmup=2)
        records.append(_timing.record("boundary_votes", f"{size}x{size} cells ({mask.mean():.0%} fg)",
                                      t_ours, "numpy bincount", t_np, match=match, threads=2))
    return records


if __name__ == "__main__":
    for rec in run(quick="--quick" in sys.argv):
        print(rec)
