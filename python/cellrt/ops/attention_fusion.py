"""Mask-guided attention on RoI features (CP-Net feature fusion), fused into one pass."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import (cuda_device, cuda_launch, dtype_name, is_cuda_tensor, like,
                                to_numpy)

_OP = "attention_fusion"
_CPU_DTYPES = (np.float32, np.float64)


def attention_fusion(features: Any, mask_logits: Any, weight: Any, bias: Any, *,
                     backend: str = "auto"):
    """Gate RoI features with their instance mask: ``features * (1 + sigmoid(w[c] * mask + b[c]))``.

    The soft mask of each instance becomes a per-pixel, per-channel gain in (1, 2): features are
    amplified where the instance is and kept as they are elsewhere, never cropped (CP-Net's
    attention-based feature fusion). Computed in one pass over memory.

    Parameters
    ----------
    features : numpy.ndarray or torch.Tensor, shape (R, C, H, W)
        RoI features. float32 or float64 on the CPU; float32 or float16 on CUDA.
    mask_logits : numpy.ndarray or torch.Tensor, shape (R, 1, H, W)
        Mask logits (pre-sigmoid) of each RoI on the same H x W grid, same dtype as `features`.
    weight : numpy.ndarray or torch.Tensor, shape (C,)
        Per-channel scale of the mask logits, same dtype as `features`.
    bias : numpy.ndarray or torch.Tensor, shape (C,)
        Per-channel offset, same dtype as `features`.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" runs where the data is (CUDA tensors on the GPU).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (R, C, H, W)
        Same kind, dtype and device as `features`; always contiguous and newly allocated.

    Notes
    -----
    Spec. ``out[r, c, y, x] = features[r, c, y, x] * (1 + sigmoid(weight[c] * mask_logits[r, 0,
    y, x] + bias[c]))``. ONNX equivalent: ``Mul(features, Add(1, Sigmoid(Add(Mul(weight, mask),
    bias))))`` with weight and bias reshaped to (1, C, 1, 1). The sigmoid is evaluated stably for
    every input: infinite logits give gates of exactly 1 or 2 (for a nonzero weight), NaN gives
    NaN; ``0 * inf`` (zero weight, infinite logit) is NaN as in IEEE arithmetic. Computation is in
    float (float64 for float64 inputs; float16 computes in float). Tolerance against the float64
    formula: rtol = atol = 1e-5 for float32 (``tests/tolerances.py``). The gradient is
    :func:`attention_fusion_backward`; for autograd use ``cellrt.torch`` (op
    ``torch.ops.cellrt.attention_fusion``). This function does not record gradients.
    """
    if is_cuda_tensor(features):
        _backend.resolve_backend(_OP, backend, True)
        return _forward_cuda(features, mask_logits, weight, bias)
    _backend.resolve_backend(_OP, backend, False)
    args = _host_arrays((("features", features), ("mask_logits", mask_logits),
                         ("weight", weight), ("bias", bias)))
    return like(_core.attention_fusion_forward(*args), features)


def attention_fusion_backward(grad_out: Any, features: Any, mask_logits: Any, weight: Any,
                              bias: Any, *, backend: str = "auto"):
    """Gradients of :func:`attention_fusion` with respect to all four inputs.

    Parameters
    ----------
    grad_out : numpy.ndarray or torch.Tensor, shape (R, C, H, W)
        Gradient of the loss with respect to the output, dtype of `features`.
    features, mask_logits, weight, bias
        The forward inputs, as in :func:`attention_fusion`.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" runs where the data is.

    Returns
    -------
    tuple
        ``(grad_features (R, C, H, W), grad_mask_logits (R, 1, H, W), grad_weight (C,),
        grad_bias (C,))``, same kind, dtype and device as `features`.

    Notes
    -----
    With ``z = weight[c] * mask + bias[c]`` and ``s = sigmoid(z)``: ``grad_features = g * (1 +
    s)``; ``grad_mask = sum_c g * features * s * (1 - s) * weight[c]``; ``grad_weight[c]`` and
    ``grad_bias[c]`` are the sums over (r, y, x) of ``g * features * s * (1 - s)`` times ``mask``
    and 1. Deterministic: every sum has a fixed order (no atomics), on the CPU accumulated in
    float64, on CUDA in float32. An infinite logit makes its ``grad_weight`` NaN (``0 * inf``), as
    torch autograd of the plain formula does.
    """
    if is_cuda_tensor(features):
        _backend.resolve_backend(_OP, backend, True)
        return _backward_cuda(grad_out, features, mask_logits, weight, bias)
    _backend.resolve_backend(_OP, backend, False)
    args = _host_arrays((("grad_out", grad_out), ("features", features),
                         ("mask_logits", mask_logits), ("weight", weight), ("bias", bias)))
    return tuple(like(g, features) for g in _core.attention_fusion_backward(*args))


def _host_arrays(named):
    """Host arrays of the CPU dtypes; shapes and dtype agreement are checked by the binding."""
    out = []
    for name, x in named:
        if getattr(x, "dtype", None) is not None and str(x.dtype).endswith("float16"):
            raise TypeError(f"{_OP}: {name} is float16, which runs on CUDA only; "
                            "use float32 or float64 on the CPU")
        out.append(to_numpy(x, _OP, name, dtypes=_CPU_DTYPES))
    return out


def _check_cuda_args(named, features) -> None:
    """The CUDA binding sees only addresses, so shapes, dtypes and devices are checked here."""
    import torch

    if features.dtype not in (torch.float32, torch.float16):
        raise TypeError(f"{_OP}: CUDA features must be float32 or float16, got {features.dtype}")
    if features.dim() != 4:
        raise ValueError(f"{_OP}: features must have shape (R, C, H, W), "
                         f"got {tuple(features.shape)}")
    r, c, h, w = features.shape
    expected = {"grad_out": (r, c, h, w), "mask_logits": (r, 1, h, w), "weight": (c,),
                "bias": (c,)}
    cuda_device(_OP, (("features", features), *named))
    for name, x in named:
        if x.dtype != features.dtype:
            raise TypeError(f"{_OP}: {name} must have the dtype of features ({features.dtype}), "
                            f"got {x.dtype}")
        if tuple(x.shape) != expected[name]:
            raise ValueError(f"{_OP}: {name} must have shape {expected[name]}, "
                             f"got {tuple(x.shape)}")


def _forward_cuda(features, mask_logits, weight, bias):
    import torch

    _check_cuda_args((("mask_logits", mask_logits), ("weight", weight), ("bias", bias)), features)
    f, m, w, b = (x.detach().contiguous() for x in (features, mask_logits, weight, bias))
    out = torch.empty_like(f)
    with cuda_launch(f.device) as (cuda, stream):
        cuda.attention_fusion_forward(
            f.data_ptr(), m.data_ptr(), w.data_ptr(), b.data_ptr(), out.data_ptr(), *f.shape,
            dtype_name(f), stream)
    return out


def _backward_cuda(grad_out, features, mask_logits, weight, bias):
    import torch

    _check_cuda_args((("grad_out", grad_out), ("mask_logits", mask_logits), ("weight", weight),
                      ("bias", bias)), features)
    g, f, m, w, b = (x.detach().contiguous()
                     for x in (grad_out, features, mask_logits, weight, bias))
    grads = [torch.empty_like(x) for x in (f, m, w, b)]
    r, c = f.shape[:2]
    with cuda_launch(f.device) as (cuda, stream):
        workspace = torch.empty(cuda.attention_fusion_backward_workspace_floats(r, c),
                                dtype=torch.float32, device=f.device)
        cuda.attention_fusion_backward(
            g.data_ptr(), f.data_ptr(), m.data_ptr(), w.data_ptr(), b.data_ptr(),
            *(x.data_ptr() for x in grads), workspace.data_ptr(), *f.shape, dtype_name(f), stream)
    return tuple(grads)
