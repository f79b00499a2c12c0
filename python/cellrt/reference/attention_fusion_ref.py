"""Reference attention_fusion: the formula and its gradients in float64 NumPy.

``out = features * (1 + sigmoid(weight[c] * mask_logits + bias[c]))`` with features
``(R, C, H, W)``, mask_logits ``(R, 1, H, W)``, weight and bias ``(C,)``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid_and_derivative(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sigmoid(z) and sigmoid'(z), never overflowing: exp is only taken of -|z|."""
    e = np.exp(-np.abs(z))
    inv = 1.0 / (1.0 + e)
    s = np.where(z < 0, e * inv, inv)
    return s, e * inv * inv


def _gate_input(mask_logits, weight, bias) -> np.ndarray:
    w = np.asarray(weight, np.float64)[None, :, None, None]
    b = np.asarray(bias, np.float64)[None, :, None, None]
    # 0 * inf is NaN, as in the torch formula; the caller asked for it by passing an infinite
    # logit with a zero weight.
    with np.errstate(invalid="ignore"):
        return w * np.asarray(mask_logits, np.float64) + b


def attention_fusion_ref(features, mask_logits, weight, bias) -> np.ndarray:
    """Forward in float64."""
    s, _ = _sigmoid_and_derivative(_gate_input(mask_logits, weight, bias))
    return np.asarray(features, np.float64) * (1.0 + s)


def attention_fusion_backward_ref(grad_out, features, mask_logits, weight, bias):
    """Gradients ``(grad_features, grad_mask_logits, grad_weight, grad_bias)`` in float64."""
    g = np.asarray(grad_out, np.float64)
    f = np.asarray(features, np.float64)
    m = np.asarray(mask_logits, np.float64)
    s, ds = _sigmoid_and_derivative(_gate_input(m, weight, bias))
    grad_z = g * f * ds  # dL/dz for z = weight[c] * mask + bias[c]
    with np.errstate(invalid="ignore"):  # 0 * inf, see _gate_input
        grad_mask = (grad_z * np.asarray(weight, np.float64)[None, :, None, None]).sum(
            axis=1, keepdims=True)
        grad_weight = (grad_z * m).sum(axis=(0, 2, 3))
    return g * (1.0 + s), grad_mask, grad_weight, grad_z.sum(axis=(0, 2, 3))
