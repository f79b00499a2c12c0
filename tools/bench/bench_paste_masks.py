"""Benchmark paste_masks against the plain torch per-RoI implementation.

Case: a 1024 x 1024 image with 1000 nuclei, 28 x 28 mask probabilities in boxes of 10-40 px,
2 threads. The peer is what one writes in torch: for every RoI (in increasing priority) sample
its mask with grid_sample over the pixels near its box, threshold, and paste, later RoIs
overwriting earlier ones.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench import _timing  # noqa: E402


def torch_paste_masks(masks, boxes, scores, image_shape, threshold=0.5, *, dtype=None,
                      full_image=False):
    """Plain torch peer and test oracle, same semantics as cellrt.ops.paste_masks.

    Per RoI: F.grid_sample(align_corners=False, padding_mode="zeros") of the mask at the pixel
    centres, normalised over the box (detectron2's convention), ``> threshold``, pasted in
    increasing (float32 score, -index) order so that the winner is written last. Over the whole
    image when ``full_image`` (slow, independent of any window logic), otherwise over the box
    grown by a little more than half a mask cell. ``dtype`` is the sampling precision (default:
    the masks' dtype).
    """
    import torch
    import torch.nn.functional as F

    masks = torch.as_tensor(masks)
    if masks.dim() == 4:
        masks = masks[:, 0]
    dtype = dtype or masks.dtype
    boxes = torch.as_tensor(boxes).to(torch.float64)
    scores = torch.as_tensor(scores).to(torch.float32)
    height, width = image_shape
    mask_h, mask_w = masks.shape[1:]
    labels = torch.zeros((height, width), dtype=torch.int32)
    order = sorted(range(masks.shape[0]), key=lambda i: (float(scores[i]), -i))
    for i in order:
        x1, y1, x2, y2 = (float(v) for v in boxes[i])
        if (not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 <= x1 or y2 <= y1
                or math.isnan(float(scores[i]))):
            continue
        if full_image:
            xa, xb, ya, yb = 0, width, 0, height
        else:
            pad_x = math.ceil(0.5 * (x2 - x1) / mask_w) + 1
            pad_y = math.ceil(0.5 * (y2 - y1) / mask_h) + 1
            xa, xb = max(math.floor(x1) - pad_x, 0), min(math.ceil(x2) + pad_x, width)
            ya, yb = max(math.floor(y1) - pad_y, 0), min(math.ceil(y2) + pad_y, height)
            if xa >= xb or ya >= yb:
                continue
        gx = (torch.arange(xa, xb, dtype=dtype) + 0.5 - x1) / (x2 - x1) * 2 - 1
        gy = (torch.arange(ya, yb, dtype=dtype) + 0.5 - y1) / (y2 - y1) * 2 - 1
        grid = torch.stack((gx[None, :].expand(len(gy), -1), gy[:, None].expand(-1, len(gx))),
                           dim=-1)[None]
        prob = F.grid_sample(masks[i][None, None].to(dtype), grid, mode="bilinear",
                             padding_mode="zeros", align_corners=False)[0, 0]
        region = labels[ya:yb, xa:xb]
        region[prob > threshold] = i + 1
    return labels


def make_nuclei(num=1000, image=1024, mask_size=28, box_range=(10.0, 40.0), seed=0):
    """Cell-like RoIs: boxes of 10-40 px anywhere (some crossing the border), masks that are
    soft ellipses filling most of their box plus noise, scores in (0, 1)."""
    rng = np.random.default_rng(seed)
    wh = rng.uniform(*box_range, size=(num, 2))
    xy = rng.uniform(-10.0, image - 20.0, size=(num, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    t = (np.arange(mask_size) + 0.5) / mask_size - 0.5
    yy, xx = np.meshgrid(t, t, indexing="ij")
    ax = rng.uniform(0.3, 0.45, size=(num, 2, 1, 1))
    r = np.hypot(xx / ax[:, 0], yy / ax[:, 1])
    logits = 10.0 * (1.0 - r) + rng.normal(0.0, 1.0, size=r.shape)
    masks = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
    scores = rng.uniform(0.05, 1.0, size=num).astype(np.float32)
    return masks, boxes.astype(np.float32), scores


def run(quick: bool = False) -> list[dict]:
    import torch

    from cellrt.ops import paste_masks

    _timing.set_threads(2)
    repeats = 3 if quick else 7
    masks, boxes, scores = make_nuclei()
    shape = (1024, 1024)
    tm, tb, ts = (torch.from_numpy(x) for x in (masks, boxes, scores))
    ours = paste_masks(tm, tb, ts, shape, 0.5)
    exact = torch_paste_masks(tm, tb, ts, shape, 0.5, dtype=torch.float64)
    peer32 = torch_paste_masks(tm, tb, ts, shape, 0.5)
    ours_ms = _timing.median_ms(lambda: paste_masks(tm, tb, ts, shape, 0.5), repeats)
    peer_ms = _timing.median_ms(lambda: torch_paste_masks(tm, tb, ts, shape, 0.5),
                                max(1, repeats // 2))
    return [_timing.record(
        "paste_masks", "1024x1024, 1000 RoIs 28x28 in 10-40 px boxes, float32",
        ours_ms, "torch grid_sample per RoI", peer_ms,
        # match: identical label image to the peer sampling in float64 (our CPU precision);
        # the float32 peer differs only where a probability is within rounding of 0.5.
        match=bool(torch.equal(ours, exact)),
        peer_float32_mismatched_px=int((ours != peer32).sum()),
        instances=int(len(torch.unique(ours)) - 1), target_ratio=5.0)]


def _print_table(records):
    cols = ("op", "case", "ours_ms", "peer", "peer_ms", "ratio", "match")
    print(" | ".join(cols))
    for r in records:
        print(" | ".join(str(r.get(c)) for c in cols))
        extra = {k: v for k, v in r.items() if k not in cols}
        if extra:
            print("    ", extra)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    _print_table(run(quick=parser.parse_args().quick))
