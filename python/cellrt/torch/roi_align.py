"""torch.library custom ops ``cellrt::roi_align`` and ``cellrt::multilevel_roi_align``.

Both are differentiable with respect to the feature maps (not the boxes, as in torchvision):
their autograd formulas call the ``cellrt::roi_align_backward`` /
``cellrt::multilevel_roi_align_backward`` custom ops, which run our backward kernels. Every op has
a fake (meta) implementation, so they trace under ``torch.compile`` and ``torch.export``.

Use :func:`roi_align` and :func:`multilevel_roi_align` below (they normalise ``output_size``
like torchvision); the ops themselves are ``torch.ops.cellrt.<name>``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from cellrt.ops.roi_align import (
    _output_size,
    multilevel_roi_align as _ops_multilevel,
    multilevel_roi_align_backward as _ops_multilevel_backward,
    roi_align as _ops_roi_align_fn,
    roi_align_backward as _ops_roi_align_backward,
)

__all__ = ["multilevel_roi_align", "roi_align"]


# ---- roi_align ----------------------------------------------------------------------------------


@torch.library.custom_op("cellrt::roi_align", mutates_args=())
def _roi_align(
    input: Tensor,
    boxes: Tensor,
    output_size: Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> Tensor:
    return _ops_roi_align_fn(
        input, boxes, (output_size[0], output_size[1]), spatial_scale, sampling_ratio, aligned
    )


@_roi_align.register_fake
def _(input, boxes, output_size, spatial_scale, sampling_ratio, aligned):
    return input.new_empty((boxes.shape[0], input.shape[1], output_size[0], output_size[1]))


@torch.library.custom_op("cellrt::roi_align_backward", mutates_args=())
def _roi_align_backward(
    grad_output: Tensor,
    boxes: Tensor,
    input_shape: Sequence[int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> Tensor:
    return _ops_roi_align_backward(
        grad_output.contiguous(), boxes, tuple(input_shape), spatial_scale, sampling_ratio, aligned
    )


@_roi_align_backward.register_fake
def _(grad_output, boxes, input_shape, spatial_scale, sampling_ratio, aligned):
    return grad_output.new_empty(tuple(input_shape))


def _roi_align_setup(ctx, inputs, output):
    input, boxes, _, spatial_scale, sampling_ratio, aligned = inputs
    ctx.save_for_backward(boxes)
    ctx.input_shape = tuple(input.shape)
    ctx.attrs = (spatial_scale, sampling_ratio, aligned)


def _roi_align_grad(ctx, grad_output):
    (boxes,) = ctx.saved_tensors
    grad_input = torch.ops.cellrt.roi_align_backward(
        grad_output, boxes, list(ctx.input_shape), *ctx.attrs
    )
    return grad_input, None, None, None, None, None


_roi_align.register_autograd(_roi_align_grad, setup_context=_roi_align_setup)


def roi_align(
    input: Tensor,
    boxes: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """Differentiable RoIAlign (``torch.ops.cellrt.roi_align``); see :func:`cellrt.ops.roi_align`.

    Parameters
    ----------
    input : torch.Tensor
        (N, C, H, W) features; gradients flow to it.
    boxes : torch.Tensor
        (K, 5) rows (batch_index, x1, y1, x2, y2) in image pixels; no gradient.
    output_size : int or tuple of int
        ``oh`` or ``(oh, ow)``.
    spatial_scale : float, optional
        Feature-map pixels per image pixel.
    sampling_ratio : int, optional
        Samples per bin side; <= 0 adaptive.
    aligned : bool, optional
        Half-pixel model when True.

    Returns
    -------
    torch.Tensor
        (K, C, oh, ow).
    """
    oh, ow = _output_size("roi_align", output_size)
    return torch.ops.cellrt.roi_align(
        input, boxes, [oh, ow], float(spatial_scale), int(sampling_ratio), bool(aligned)
    )


# ---- multilevel_roi_align -----------------------------------------------------------------------


@torch.library.custom_op("cellrt::multilevel_roi_align", mutates_args=())
def _multilevel_roi_align(
    features: Sequence[Tensor],
    boxes: Tensor,
    output_size: Sequence[int],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float,
    canonical_level: float,
    aligned: bool,
) -> Tensor:
    return _ops_multilevel(
        list(features), boxes, (output_size[0], output_size[1]), list(scales), sampling_ratio,
        canonical_size, canonical_level, aligned=aligned,
    )


@_multilevel_roi_align.register_fake
def _(features, boxes, output_size, scales, sampling_ratio, canonical_size, canonical_level,
      aligned):
    f = features[0]
    return f.new_empty((boxes.shape[0], f.shape[1], output_size[0], output_size[1]))


@torch.library.custom_op("cellrt::multilevel_roi_align_backward", mutates_args=())
def _multilevel_roi_align_backward(
    grad_output: Tensor,
    boxes: Tensor,
    level_shapes: Sequence[int],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float,
    canonical_level: float,
    aligned: bool,
) -> list[Tensor]:
    shapes = [tuple(level_shapes[i : i + 4]) for i in range(0, len(level_shapes), 4)]
    return _ops_multilevel_backward(
        grad_output.contiguous(), boxes, shapes, list(scales), sampling_ratio, canonical_size,
        canonical_level, aligned=aligned,
    )


@_multilevel_roi_align_backward.register_fake
def _(grad_output, boxes, level_shapes, scales, sampling_ratio, canonical_size, canonical_level,
      aligned):
    return [
        grad_output.new_empty(tuple(level_shapes[i : i + 4])) for i in range(0, len(level_shapes), 4)
    ]


def _multilevel_setup(ctx, inputs, output):
    features, boxes, _, scales, sampling_ratio, canonical_size, canonical_level, aligned = inputs
    ctx.save_for_backward(boxes)
    # (N, C, H_l, W_l) of every level, flattened: the backward op's schema takes one int list.
    ctx.level_shapes = [d for f in features for d in f.shape]
    ctx.attrs = (list(scales), sampling_ratio, canonical_size, canonical_level, aligned)


def _multilevel_grad(ctx, grad_output):
    (boxes,) = ctx.saved_tensors
    grads = torch.ops.cellrt.multilevel_roi_align_backward(
        grad_output, boxes, ctx.level_shapes, *ctx.attrs
    )
    return list(grads), None, None, None, None, None, None, None


_multilevel_roi_align.register_autograd(_multilevel_grad, setup_context=_multilevel_setup)


def multilevel_roi_align(
    features: Sequence[Tensor],
    boxes: Tensor,
    output_size: int | tuple[int, int],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float = 224,
    canonical_level: float = 4,
    aligned: bool = False,
) -> Tensor:
    """Differentiable FPN RoIAlign (``torch.ops.cellrt.multilevel_roi_align``).

    See :func:`cellrt.ops.multilevel_roi_align` for the level rule.

    Parameters
    ----------
    features : sequence of torch.Tensor
        FPN maps (N, C, H_l, W_l), finest first; gradients flow to each.
    boxes : torch.Tensor
        (K, 5) rows (batch_index, x1, y1, x2, y2) in image pixels; no gradient.
    output_size : int or tuple of int
        ``oh`` or ``(oh, ow)``.
    scales : sequence of float
        Spatial scale of each level, e.g. ``[1/4, 1/8, 1/16, 1/32]``.
    sampling_ratio : int
        Samples per bin side; <= 0 adaptive.
    canonical_size : float, optional
        Box side mapped to ``canonical_level`` (224).
    canonical_level : float, optional
        Level of a ``canonical_size`` box (4).
    aligned : bool, optional
        Half-pixel model when True (torchvision's MultiScaleRoIAlign uses False).

    Returns
    -------
    torch.Tensor
        (K, C, oh, ow).
    """
    oh, ow = _output_size("multilevel_roi_align", output_size)
    return torch.ops.cellrt.multilevel_roi_align(
        list(features), boxes, [oh, ow], [float(s) for s in scales], int(sampling_ratio),
        float(canonical_size), float(canonical_level), bool(aligned),
    )
