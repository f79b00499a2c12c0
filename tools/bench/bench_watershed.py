"""Benchmark: marker-controlled watershed on cell-like maps, cellrt vs scikit-image.

Input: a nuclei-like foreground (union of random discs, radius 6-20 px, ~40% cover), its
Euclidean distance transform `dist`, markers = connected components of the cores
(dist > 0.6 x local maximum and > 2 px). Two reliefs:
  "dist":   -dist itself (few distinct values: plateaus, ties between equal-valued markers);
  "smooth": -dist blurred and with 1% multiplicative noise, like a network's distance head
            (continuous values, no ties).
Cases (2 threads):
  pipeline:  ours = cellrt.ops.label(cores) + cellrt.ops.watershed(-dist, markers, mask)
             peer = scipy.ndimage.label(cores) + skimage.segmentation.watershed(-dist, markers,
             mask=mask) (HoVer-Net-style post-processing).
  watershed: the flood alone on the same markers.
"match": identical labels up to a permutation of label values; "diff_px": pixels that differ
(after the best renaming): ties between equal-valued markers on "dist" maps, where both answers
are valid watersheds (see cellrt.ops.watershed and its tests).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.segmentation import watershed as sk_watershed

import cellrt.ops

try:
    from tools.bench import _timing
except ImportError:  # run as a script: tools/bench itself is on sys.path
    import _timing


def nuclei_map(size: int, seed: int = 0, smooth: bool = False):
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), bool)
    count = int(0.5 * size * size / (np.pi * 13**2))
    for cy, cx, r in zip(rng.uniform(0, size, count), rng.uniform(0, size, count),
                         rng.uniform(6, 20, count)):
        y0, y1 = int(max(0, cy - r - 1)), int(min(size, cy + r + 2))
        x0, x1 = int(max(0, cx - r - 1)), int(min(size, cx + r + 2))
        yy, xx = np.ogrid[y0:y1, x0:x1]
        mask[y0:y1, x0:x1] |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    dist = ndi.distance_transform_edt(mask)
    cores = (dist > 0.6 * ndi.maximum_filter(dist, size=9)) & (dist > 2)
    if smooth:
        dist = ndi.gaussian_filter(dist, 1.0) * (1 + 0.01 * rng.standard_normal(dist.shape))
    return -dist, cores, mask


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to a one-to-one renaming of the nonzero labels (0 must stay 0)."""
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a[a != 0], b[b != 0]]), axis=1)
    return pairs.shape[1] == len(np.unique(pairs[0])) == len(np.unique(pairs[1]))


def mismatched_px(a: np.ndarray, b: np.ndarray) -> int:
    """Pixels where a, renamed by its largest-overlap label of b, still differs from b."""
    pairs, counts = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1, return_counts=True)
    best = {}
    for (la, lb), n in zip(pairs.T, counts):
        if la not in best or n > best[la][1]:
            best[la] = (lb, n)
    return int(a.size - sum(n for _, n in best.values()))


def _label_ours():
    """cellrt.ops.label if it exists in this build, else scipy's (the name goes in the record)."""
    try:
        cellrt.ops.label(np.ones((2, 2), bool))
    except NotImplementedError:
        return "scipy", lambda cores: ndi.label(cores)[0].astype(np.int32)

    def ours(cores):
        out = cellrt.ops.label(cores, connectivity=1)  # scipy.ndimage.label's default structure
        return out[0] if isinstance(out, tuple) else out

    return "cellrt", ours


def run(quick: bool = False) -> list[dict]:
    _timing.set_threads(2)
    label_name, label_ours = _label_ours()
    repeats = 3 if quick else 5
    records = []
    for size in ([1024] if quick else [1024, 2048]):
        for kind in ("dist", "smooth"):
            image, cores, mask = nuclei_map(size, seed=size, smooth=kind == "smooth")

            def ours_pipeline():
                return cellrt.ops.watershed(image, label_ours(cores), mask)

            def peer_pipeline():
                return sk_watershed(image, ndi.label(cores)[0], mask=mask)

            a, b = ours_pipeline(), peer_pipeline()
            records.append(_timing.record(
                "watershed", f"pipeline {kind} {size}x{size}",
                _timing.median_ms(ours_pipeline, repeats=repeats),
                "scipy.ndimage.label+skimage.watershed",
                _timing.median_ms(peer_pipeline, repeats=repeats),
                match=same_partition(a, b), diff_px=mismatched_px(a, b), label=label_name,
                objects=int(b.max()), mask_px=int(mask.sum())))

            markers = ndi.label(cores)[0].astype(np.int32)
            a = cellrt.ops.watershed(image, markers, mask)
            b = sk_watershed(image, markers, mask=mask)
            records.append(_timing.record(
                "watershed", f"flood {kind} {size}x{size}",
                _timing.median_ms(lambda: cellrt.ops.watershed(image, markers, mask),
                                  repeats=repeats),
                "skimage.watershed",
                _timing.median_ms(lambda: sk_watershed(image, markers, mask=mask),
                                  repeats=repeats),
                match=bool(np.array_equal(a, b)), diff_px=int((a != b).sum())))
    return records


if __name__ == "__main__":
    import sys

    recs = run(quick="--quick" in sys.argv)
    cols = ["case", "ours_ms", "peer", "peer_ms", "ratio", "match"]
    print(" | ".join(cols + ["extra"]))
    for r in recs:
        extra = {k: v for k, v in r.items() if k not in cols and k != "op"}
        print(" | ".join(str(r[c]) for c in cols) + " | " + str(extra))
