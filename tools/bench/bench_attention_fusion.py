"""Benchmark attention_fusion against the same formula written in plain torch.

Case: R=512 RoIs, C=256 channels, 14 x 14 (a Mask R-CNN mask-head feature batch), float32,
2 threads. Forward, backward (given the saved inputs), and forward + backward through autograd
(ours via the ``torch.ops.cellrt.attention_fusion`` custom op).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.bench import _timing  # noqa: E402


def torch_attention_fusion(features, mask_logits, weight, bias):
    """The peer and test oracle: the formula in plain torch (several passes over memory)."""
    import torch

    c = weight.shape[0]
    gate = torch.sigmoid(weight.view(1, c, 1, 1) * mask_logits + bias.view(1, c, 1, 1))
    return features * (1 + gate)


def make_inputs(rois=512, channels=256, size=14, dtype=np.float32, seed=0):
    """Cell-like inputs: ReLU-like features, mask logits of a blob per RoI (inside > 0)."""
    rng = np.random.default_rng(seed)
    features = np.maximum(rng.normal(size=(rois, channels, size, size)), 0).astype(dtype)
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    radius = rng.uniform(0.25, 0.45, size=(rois, 1, 1, 1))
    mask_logits = (8.0 * (radius - np.hypot(yy, xx)) + rng.normal(0, 0.5, (rois, 1, size, size)))
    weight = rng.normal(1.0, 0.5, size=channels)
    bias = rng.normal(0.0, 0.5, size=channels)
    return features, mask_logits.astype(dtype), weight.astype(dtype), bias.astype(dtype)


def run(quick: bool = False) -> list[dict]:
    import torch

    import cellrt.torch  # noqa: F401  (registers torch.ops.cellrt.attention_fusion)
    from cellrt.ops import attention_fusion
    from cellrt.ops.attention_fusion import attention_fusion_backward
    from tests.tolerances import tol

    _timing.set_threads(2)
    repeats = 3 if quick else 7
    f, m, w, b = (torch.from_numpy(x) for x in make_inputs())
    g = torch.from_numpy(np.random.default_rng(1).normal(size=f.shape).astype(np.float32))
    case = f"R={f.shape[0]} C={f.shape[1]} {f.shape[2]}x{f.shape[3]} float32"
    records = []

    ours = attention_fusion(f, m, w, b)
    with torch.no_grad():
        peer = torch_attention_fusion(f, m, w, b)
    records.append(_timing.record(
        "attention_fusion", f"forward {case}",
        _timing.median_ms(lambda: attention_fusion(f, m, w, b), repeats),
        "torch formula", _timing.median_ms(lambda: torch_attention_fusion(f, m, w, b), repeats),
        match=bool(torch.allclose(ours, peer, **tol("forward", "float32")))))

    leaves = [x.clone().requires_grad_(True) for x in (f, m, w, b)]
    out = torch_attention_fusion(*leaves)
    peer_grads = torch.autograd.grad(out, leaves, g, retain_graph=True)
    our_grads = attention_fusion_backward(g, f, m, w, b)
    records.append(_timing.record(
        "attention_fusion", f"backward {case}",
        _timing.median_ms(lambda: attention_fusion_backward(g, f, m, w, b), repeats),
        "torch autograd",
        _timing.median_ms(lambda: torch.autograd.grad(out, leaves, g, retain_graph=True), repeats),
        match=all(bool(torch.allclose(a, p, **tol("backward", "float32")))
                  for a, p in zip(our_grads, peer_grads))))

    def train_step(fn):
        xs = [x.clone().requires_grad_(True) for x in (f, m, w, b)]
        fn(*xs).backward(g)
        return [x.grad for x in xs]

    records.append(_timing.record(
        "attention_fusion", f"forward+backward {case}",
        _timing.median_ms(lambda: train_step(torch.ops.cellrt.attention_fusion), repeats),
        "torch formula + autograd",
        _timing.median_ms(lambda: train_step(torch_attention_fusion), repeats),
        match=all(bool(torch.allclose(a, p, **tol("backward", "float32"))) for a, p in
                  zip(train_step(torch.ops.cellrt.attention_fusion), peer_grads))))
    return records


def _print_table(records):
    cols = ("op", "case", "ours_ms", "peer", "peer_ms", "ratio", "match")
    print(" | ".join(cols))
    for r in records:
        print(" | ".join(str(r.get(c)) for c in cols))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    _print_table(run(quick=parser.parse_args().quick))
