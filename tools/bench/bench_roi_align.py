"""Benchmark roi_align (forward and backward) against torchvision.ops.roi_align on the CPU.

Case (from the issue): FPN-level features 2 x 256 x 128 x 128 (stride 4 of a 512 x 512 image),
2000 cell-sized RoIs (8-68 px boxes, i.e. 2-17 feature pixels), sampling_ratio 2, output 7x7 and
14x14, 2 threads for both libraries. Both get the same NCHW float32 input; our time includes the
channels-last transposition. `match` says whether our result equals torchvision's within the
test tolerance (forward and input gradient).

torchvision's CPU RoIAlign kernels are single-threaded; ours use both threads. On a shared machine
the second thread may not get a core, so the records also give the median process CPU time of
each side (`ours_cpu_ms`, `peer_cpu_ms`, summed over threads): their ratio is the work ratio.

Run: PYTHONPATH=python python tools/bench/bench_roi_align.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

try:
    from tools.bench._timing import median_ms, record, set_threads
except ImportError:  # run as a script from tools/bench
    from _timing import median_ms, record, set_threads


def _cell_boxes(rng: np.random.Generator, k: int, image: int, batch: int) -> np.ndarray:
    """Cell-like boxes: centres anywhere, sides 8-68 px, some crossing the image border."""
    centre = rng.uniform(0, image, size=(k, 2))
    side = rng.uniform(8, 68, size=(k, 2))
    idx = rng.integers(0, batch, size=(k, 1))
    return np.concatenate([idx, centre - side / 2, centre + side / 2], axis=1).astype(np.float32)


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(median wall ms, median process CPU ms) of fn(), from the same calls (warm-up excluded)."""
    cpu: list[float] = []

    def wrapped():
        start = time.process_time()
        result = fn()
        cpu.append((time.process_time() - start) * 1e3)
        return result

    wall = median_ms(wrapped, repeats=repeats)
    return wall, statistics.median(cpu[1:])


def _compare(op: str, case: str, peer_name: str, ours, peer, repeats: int, rtol: float,
             atol: float) -> dict:
    """One record: both results checked against each other (``match``: allclose within rtol and
    atol), then both timed (wall and process CPU time)."""
    ours_out, peer_out = np.asarray(ours()), peer().numpy()
    diff = float(np.max(np.abs(ours_out - peer_out)))
    ours_ms, ours_cpu = _timed(ours, repeats)
    peer_ms, peer_cpu = _timed(peer, repeats)
    return record(op, case, ours_ms, peer_name, peer_ms, ours_cpu_ms=round(ours_cpu, 1),
                  peer_cpu_ms=round(peer_cpu, 1), max_abs_diff=diff,
                  match=bool(np.allclose(ours_out, peer_out, rtol=rtol, atol=atol)))


def run(quick: bool = False) -> list[dict]:
    import torch
    import torchvision

    from cellrt.ops.roi_align import roi_align, roi_align_backward

    set_threads(2)
    rng = np.random.default_rng(0)
    n, c, h, w, k, scale, ratio = 2, 256, 128, 128, 2000, 0.25, 2
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    boxes = _cell_boxes(rng, k, 4 * h, n)
    xt, bt = torch.from_numpy(x), torch.from_numpy(boxes)
    repeats = 3 if quick else 5
    sizes = (7,) if quick else (7, 14)
    records = []
    for size in sizes:
        case = f"{n}x{c}x{h}x{w}, {k} RoIs, {size}x{size}, sr={ratio}"

        def ours_fwd():
            return roi_align(x, boxes, size, scale, ratio, False)

        def peer_fwd():
            return torchvision.ops.roi_align(xt, bt, size, scale, ratio, False)

        records.append(_compare("roi_align", f"forward {case}", "torchvision", ours_fwd, peer_fwd,
                                repeats, rtol=1e-5, atol=1e-5))

        grad = rng.standard_normal((k, c, size, size), dtype=np.float32)
        grad_t = torch.from_numpy(grad)

        def ours_bwd():
            return roi_align_backward(grad, boxes, (n, c, h, w), scale, ratio, False)

        def peer_bwd():
            # torchvision's CPU backward kernel, the one its autograd formula calls.
            return torch.ops.torchvision._roi_align_backward(
                grad_t, bt, scale, size, size, n, c, h, w, ratio, False
            )

        records.append(_compare("roi_align", f"backward {case}", "torchvision", ours_bwd,
                                peer_bwd, repeats, rtol=1e-4, atol=1e-4))
    if not quick:
        records.append(_multilevel_record(rng, repeats))
    return records


def _multilevel_record(rng: np.random.Generator, repeats: int) -> dict:
    """FPN pooling (4 levels of a 512 x 512 image, 2000 boxes of 8-400 px) vs MultiScaleRoIAlign."""
    import torch
    import torchvision

    from cellrt.ops.roi_align import multilevel_roi_align

    n, c, image, k = 2, 256, 512, 2000
    scales = [1 / 4, 1 / 8, 1 / 16, 1 / 32]
    feats = [rng.standard_normal((n, c, int(image * s), int(image * s)), dtype=np.float32)
             for s in scales]
    side = np.exp(rng.uniform(np.log(8), np.log(400), (k, 2)))
    centre = rng.uniform(0, image, (k, 2))
    boxes = np.concatenate([rng.integers(0, n, (k, 1)), centre - side / 2, centre + side / 2], 1)
    boxes = boxes[np.argsort(boxes[:, 0], kind="stable")].astype(np.float32)  # torchvision's order
    names = [str(i) for i in range(len(feats))]
    pooler = torchvision.ops.MultiScaleRoIAlign(names, 7, 2)
    maps = {name: torch.from_numpy(f) for name, f in zip(names, feats)}
    per_image = [torch.from_numpy(boxes[boxes[:, 0] == i, 1:]) for i in range(n)]

    def ours():
        return multilevel_roi_align(feats, boxes, 7, scales, 2)

    def peer():
        return pooler(maps, per_image, [(image, image)] * n)

    return _compare("multilevel_roi_align",
                    f"forward FPN 4 levels {n}x{c}x128x128.., {k} RoIs, 7x7, sr=2",
                    "torchvision MultiScaleRoIAlign", ours, peer, repeats, rtol=0.0, atol=1e-5)


if __name__ == "__main__":
    recs = run(quick="--quick" in sys.argv)
    cols = ("case", "ours_ms", "peer_ms", "ratio", "ours_cpu_ms", "peer_cpu_ms", "max_abs_diff",
            "match")
    print(" | ".join(cols))
    for r in recs:
        print(" | ".join(str(r[c]) for c in cols))
