"""regionprops vs skimage.measure.regionprops_table: 2048^2 label image with ~2000 nuclei and a
3-channel float32 intensity image; label, area, bbox, centroid and mean intensity. 2 threads.
"match": label/area/bbox identical, centroids to 1e-12, means to float32 precision (skimage
averages float32 pixels in float32, we sum in float64). A second case adds the shape columns
(shape=True: perimeter, eccentricity, axis lengths, orientation, convex area, solidity) against
skimage's same properties ("match": convex areas identical, the rest to 1e-9 relative or
1e-6 absolute: skimage takes sqrt of a rounding error for a 2-pixel object's minor axis).

    PYTHONPATH=python python tools/bench/bench_regionprops.py [--quick]
"""

from __future__ import annotations

import sys

import numpy as np

try:
    from tools.bench import _timing
except ImportError:  # run as a script: tools/bench is on sys.path
    import _timing

PROPS = ("label", "area", "bbox", "centroid", "intensity_mean")
SHAPE = {"label": "label", "perimeter": "perimeter", "eccentricity": "eccentricity",
         "major_axis_length": "axis_major_length", "minor_axis_length": "axis_minor_length",
         "orientation": "orientation", "area_convex": "area_convex", "solidity": "solidity"}


def nuclei_labels(h: int, w: int, n: int, seed: int = 0) -> np.ndarray:
    """int32 label image of n random discs (radius 6..17 px); later discs overwrite earlier."""
    rng = np.random.default_rng(seed)
    lab = np.zeros((h, w), np.int32)
    for k, (y, x, r) in enumerate(
        zip(rng.integers(0, h, n), rng.integers(0, w, n), rng.integers(6, 18, n)), start=1
    ):
        y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        lab[y0:y1, x0:x1][(yy - y) ** 2 + (xx - x) ** 2 <= r * r] = k
    return lab


def matches(ours: dict, table: dict) -> bool:
    ok = np.array_equal(ours["label"], table["label"])
    ok &= np.array_equal(ours["area"], table["area"])
    ok &= all(np.array_equal(ours["bbox"][:, k], table[f"bbox-{k}"]) for k in range(4))
    ok &= all(np.allclose(ours["centroid"][:, k], table[f"centroid-{k}"], rtol=1e-12, atol=0)
              for k in range(2))
    ok &= all(np.allclose(ours["mean_intensity"][:, k], table[f"intensity_mean-{k}"],
                          rtol=1e-5, atol=1e-6) for k in range(3))
    return bool(ok)


def run(quick: bool = False) -> list[dict]:
    from skimage.measure import regionprops_table

    import cellrt.ops as ops

    _timing.set_threads(2)
    lab = nuclei_labels(2048, 2048, 2000)
    inten = np.random.default_rng(1).random((2048, 2048, 3), dtype=np.float32)
    n = len(np.unique(lab)) - 1
    ours = ops.regionprops(lab, inten)
    table = regionprops_table(lab, inten, properties=PROPS)
    t_ours = _timing.median_ms(lambda: ops.regionprops(lab, inten), repeats=5 if quick else 20,
                               warmup=1)
    t_sk = _timing.median_ms(lambda: regionprops_table(lab, inten, properties=PROPS),
                             repeats=1 if quick else 3, warmup=0)
    shape = ops.regionprops(lab, shape=True)
    sk_shape = regionprops_table(lab, properties=tuple(SHAPE.values()))
    match_shape = bool(np.array_equal(shape["area_convex"], sk_shape["area_convex"]) and all(
        np.allclose(shape[k], sk_shape[v], rtol=1e-9, atol=1e-6)
        for k, v in SHAPE.items() if k not in ("area_convex", "orientation")))
    t_shape = _timing.median_ms(lambda: ops.regionprops(lab, shape=True),
                                repeats=3 if quick else 10, warmup=1)
    t_sk_shape = _timing.median_ms(lambda: regionprops_table(lab, properties=tuple(SHAPE.values())),
                                   repeats=1, warmup=0)
    return [_timing.record("regionprops", f"2048x2048, {n} nuclei, 3-ch float32 intensity",
                           t_ours, "skimage.measure.regionprops_table", t_sk,
                           match=matches(ours, table), threads=2),
            _timing.record("regionprops", f"2048x2048, {n} nuclei, shape=True", t_shape,
                           "skimage.measure.regionprops_table (shape props)", t_sk_shape,
                           match=match_shape, threads=2)]


if __name__ == "__main__":
    for r in run(quick="--quick" in sys.argv):
        print(f"{r['case']:<46} {r['peer']:<34} ours {r['ours_ms']:.3f} ms  "
              f"peer {r['peer_ms']:.1f} ms  ratio {r['ratio']:.1f}  match {r['match']}")
