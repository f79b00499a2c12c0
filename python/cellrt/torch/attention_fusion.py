"""``torch.ops.cellrt.attention_fusion``: the fused mask-guided attention as a torch custom op,
differentiable through our backward kernel and traceable by torch.compile / export (fake
kernels give the output shapes).

>>> import cellrt.torch  # registers the ops
>>> out = torch.ops.cellrt.attention_fusion(features, mask_logits, weight, bias)
"""

from __future__ import annotations

import torch

from cellrt.ops.attention_fusion import attention_fusion as _forward_kernel
from cellrt.ops.attention_fusion import attention_fusion_backward as _backward_kernel

Tensor = torch.Tensor


@torch.library.custom_op("cellrt::attention_fusion", mutates_args=())
def attention_fusion(features: Tensor, mask_logits: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``features * (1 + sigmoid(weight[c] * mask_logits + bias[c]))``; see
    :func:`cellrt.ops.attention_fusion`."""
    return _forward_kernel(features, mask_logits, weight, bias)


@attention_fusion.register_fake
def _(features, mask_logits, weight, bias):
    # The kernels always return a new contiguous tensor, whatever the input strides.
    return features.new_empty(features.shape)


@torch.library.custom_op("cellrt::attention_fusion_backward", mutates_args=())
def attention_fusion_backward(grad_out: Tensor, features: Tensor, mask_logits: Tensor,
                              weight: Tensor, bias: Tensor
                              ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients (features, mask_logits, weight, bias); see
    :func:`cellrt.ops.attention_fusion.attention_fusion_backward`."""
    return _backward_kernel(grad_out, features, mask_logits, weight, bias)


@attention_fusion_backward.register_fake
def _(grad_out, features, mask_logits, weight, bias):
    return (features.new_empty(features.shape), mask_logits.new_empty(mask_logits.shape),
            weight.new_empty(weight.shape), bias.new_empty(bias.shape))


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    features, mask_logits, weight, bias = ctx.saved_tensors
    return torch.ops.cellrt.attention_fusion_backward(grad, features, mask_logits, weight, bias)


attention_fusion.register_autograd(_backward, setup_context=_setup_context)
