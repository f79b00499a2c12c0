"""Benchmark: cellrt.ops.nms vs torchvision.ops.nms on cell-like detections (CPU, 2 threads).

Inputs: one box per nucleus plus 5-10 jittered duplicates (the raw output of a detector before
NMS), nuclei of 8-20 px radius covering 30% of a square image sized for the box count (e.g.
~5000 px square for 100k boxes). Both libraries get the same torch tensors; the keep lists must be
identical ("match"). torchvision's CPU kernel compares each kept box with every later box, so it
grows ~quadratically; cellrt's grid sweep is dominated by its sort.

    python tools/bench/bench_nms.py [--quick]
"""

from __future__ import annotations

import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))

from tools.bench import _timing  # noqa: E402

SIZES = (1_000, 5_000, 20_000, 100_000)
QUICK_SIZES = (1_000, 20_000)
IOU_THRESHOLD = 0.5


def _peer_repeats(n: int) -> tuple[int, int]:
    """(repeats, warm-ups) for torchvision: its 100k case takes seconds per call."""
    if n >= 100_000:
        return 1, 0
    if n >= 20_000:
        return 3, 1
    return 7, 1


def run(quick: bool = False) -> list[dict]:
    import torch
    import torchvision

    from cellrt.ops import batched_nms, nms
    from cellrt.reference.nms_ref import cell_like_boxes

    _timing.set_threads(2)
    records = []
    for n in QUICK_SIZES if quick else SIZES:
        rng = np.random.default_rng(n)
        boxes_np, scores_np, side = cell_like_boxes(rng, n)
        boxes, scores = torch.from_numpy(boxes_np), torch.from_numpy(scores_np)
        ours = nms(boxes, scores, IOU_THRESHOLD)
        peer = torchvision.ops.nms(boxes, scores, IOU_THRESHOLD)
        ours_ms = _timing.median_ms(lambda: nms(boxes, scores, IOU_THRESHOLD), repeats=7,
                                    min_time_s=0.2)
        reps, warm = _peer_repeats(n)
        peer_ms = _timing.median_ms(lambda: torchvision.ops.nms(boxes, scores, IOU_THRESHOLD),
                                    repeats=reps, warmup=warm)
        records.append(_timing.record(
            "nms", f"cell-like N={n}", ours_ms, "torchvision.ops.nms", peer_ms,
            match=bool(torch.equal(ours, peer)), kept=int(ours.numel()),
            image_px=int(round(side)), threads=2, iou_threshold=IOU_THRESHOLD))

    if not quick:
        n = 20_000
        rng = np.random.default_rng(n + 1)
        boxes_np, scores_np, _ = cell_like_boxes(rng, n)
        boxes, scores = torch.from_numpy(boxes_np), torch.from_numpy(scores_np)
        idxs = torch.from_numpy(rng.integers(0, 3, n))
        ours = batched_nms(boxes, scores, idxs, IOU_THRESHOLD)
        peer = torchvision.ops.batched_nms(boxes, scores, idxs, IOU_THRESHOLD)
        # torchvision orders equal scores of its per-class result arbitrarily: compare the kept
        # set and the score sequence.
        match = (set(ours.tolist()) == set(peer.tolist())
                 and torch.equal(scores[ours], scores[peer]))
        ours_ms = _timing.median_ms(lambda: batched_nms(boxes, scores, idxs, IOU_THRESHOLD),
                                    repeats=7, min_time_s=0.2)
        peer_ms = _timing.median_ms(
            lambda: torchvision.ops.batched_nms(boxes, scores, idxs, IOU_THRESHOLD), repeats=3)
        records.append(_timing.record(
            "batched_nms", f"cell-like N={n}, 3 classes", ours_ms, "torchvision.ops.batched_nms",
            peer_ms, match=bool(match), kept=int(ours.numel()), threads=2,
            iou_threshold=IOU_THRESHOLD))
    return records


def _print_table(records: list[dict]) -> None:
    cols = ("op", "case", "ours_ms", "peer_ms", "ratio", "match", "kept")
    rows = [[str(r.get(c, "")) for c in cols] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


if __name__ == "__main__":
    _print_table(run(quick="--quick" in sys.argv[1:]))
