"""label vs cv2.connectedComponents and scipy.ndimage.label on cell-like masks (1024^2, 2048^2).

cv2 is compared at both of its connectivities (4 and 8: its 8-connected Spaghetti/BBDT path is
the fastest); scipy at its default 4-connectivity. Everything runs on 2 threads. "match" checks
that the partition into components is identical (labels equal up to renumbering).

    PYTHONPATH=python python tools/bench/bench_label.py [--quick]
"""

from __future__ import annotations

import sys

import numpy as np

try:
    from tools.bench import _timing
except ImportError:  # run as a script: tools/bench is on sys.path
    import _timing


def cell_mask(h: int, w: int, n: int, seed: int = 0) -> np.ndarray:
    """uint8 mask of n random discs (radius 6..17 px): nuclei, some touching into clumps."""
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), np.uint8)
    for y, x, r in zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(6, 18, n)):
        y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        m[y0:y1, x0:x1] |= ((yy - y) ** 2 + (xx - x) ** 2 <= r * r).astype(np.uint8)
    return m


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b label the same pixel sets (0 = background in both), in any numbering."""
    a = a.ravel().astype(np.int64)
    b = b.ravel().astype(np.int64)
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(a * (int(b.max()) + 1) + b)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def run(quick: bool = False) -> list[dict]:
    import cv2
    import scipy.ndimage as ndi

    import cellrt.ops as ops

    _timing.set_threads(2)
    cv2.setNumThreads(2)
    repeats = 5 if quick else 30
    records = []
    for size, n in ((1024, 500), (2048, 2000)):
        mask = cell_mask(size, size, n)
        case = f"{size}x{size} cells ({n} discs, {mask.mean():.0%} fg)"
        for conn in (1, 2):
            ours = ops.label(mask, conn)
            ncv, theirs = cv2.connectedComponents(mask, connectivity=4 * conn, ltype=cv2.CV_32S)
            match = bool(ncv - 1 == ours.max() and same_partition(ours, theirs))
            t_ours = _timing.median_ms(lambda: ops.label(mask, conn), repeats=repeats, warmup=2)
            t_cv = _timing.median_ms(
                lambda: cv2.connectedComponents(mask, connectivity=4 * conn, ltype=cv2.CV_32S),
                repeats=repeats, warmup=2)
            records.append(_timing.record("label", f"{case}, {4 * conn}-conn", t_ours,
                                          "cv2.connectedComponents", t_cv, match=match, threads=2))
        ours = ops.label(mask, 1)
        theirs, nsp = ndi.label(mask)
        match = bool(nsp == ours.max() and same_partition(ours, theirs))
        t_ours = _timing.median_ms(lambda: ops.label(mask, 1), repeats=repeats, warmup=2)
        t_sp = _timing.median_ms(lambda: ndi.label(mask), repeats=repeats, warmup=2)
        records.append(_timing.record("label", f"{case}, 4-conn", t_ours, "scipy.ndimage.label",
                                      t_sp, match=match, threads=2))
    return records


def _print_table(records: list[dict]) -> None:
    print(f"{'case':<44} {'peer':<24} {'ours_ms':>9} {'peer_ms':>9} {'ratio':>7}  match")
    for r in records:
        print(f"{r['case']:<44} {r['peer']:<24} {r['ours_ms']:>9.3f} {r['peer_ms']:>9.3f} "
              f"{r['ratio']:>7.2f}  {r['match']}")


if __name__ == "__main__":
    _print_table(run(quick="--quick" in sys.argv))
