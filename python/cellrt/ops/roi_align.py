"""RoIAlign (Mask R-CNN) on one feature map or on an FPN pyramid, and its backward pass.

Spec
----
``roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False)``

=============== ============================ ==================================================
argument        shape / type                 meaning
=============== ============================ ==================================================
input           (N, C, H, W) float           feature maps; float32 or float64 on the CPU,
                                             float32, float16 or float64 on CUDA
boxes           (K, 5) float                 rows (batch_index, x1, y1, x2, y2) in image pixels;
                                             batch_index in [0, N) (truncated to an integer)
output_size     int or (oh, ow), each >= 1   bins per RoI
spatial_scale   float > 0                    feature-map pixels per image pixel (1/stride)
sampling_ratio  int                          samples per bin side; <= 0: ceil(bin size)
aligned         bool                         half-pixel model (see below)
returns         (K, C, oh, ow), input dtype
=============== ============================ ==================================================

ONNX equivalent: ``RoiAlign`` (opset 16) with ``mode="avg"``, ``output_height=oh``,
``output_width=ow``, ``sampling_ratio``, ``spatial_scale`` and
``coordinate_transformation_mode="half_pixel"`` for ``aligned=True`` or
``"output_half_pixel"`` for ``aligned=False``; ONNX takes the batch indices as a separate
input. (ONNX does not force the RoI size to >= 1 when not aligned; torchvision and cellrt do.)

Coordinate convention. A box edge at image coordinate ``x`` maps to the feature-map coordinate
``x * spatial_scale``, minus 0.5 when ``aligned``. Feature pixel ``i`` is sampled at coordinate
``i``, so with ``aligned=True`` a box ``[0, 2)`` at scale 1 covers exactly pixels 0 and 1 (pixel
``i`` spans ``[i, i + 1)`` in image coordinates, its centre is ``i + 0.5``). ``aligned=False`` is
the original Mask R-CNN model: the box is not shifted (so it is sampled half a pixel off) and an
RoI smaller than one feature pixel is enlarged to one pixel. Each bin averages
``grid_h x grid_w`` bilinear samples at the centres of a regular sub-grid.

Boundary rules (torchvision's): a sample more than one pixel outside the map (``y < -1``,
``y > H``, ...) contributes 0 but still counts in the average; samples within one pixel of the
map clamp to the border pixel. A NaN box coordinate gives zeros (NaN sample coordinates never
index memory); infinite coordinates follow the finite arithmetic (a box reaching to infinity
only samples off the map and gives zeros; ``x2 = -inf`` is an inverted box, which the legacy
model widens to one pixel like any other). A batch index outside ``[0, N)`` (or NaN) is a
ValueError. NaN or Inf values in ``input`` propagate to every bin that reads them (even with
zero weight, as in torchvision). The adaptive grid is capped at 1024 samples per bin side, which
only changes bins wider than 1024 feature pixels (where torchvision would take over a million
samples per bin).

Tolerances (tests/tolerances.py): the CPU forward sums the same terms as torchvision in another
order (per-row weights summed first, see kernels/cpu/roi_align_cpu.cpp), so float32 results agree
to a few ulp (rtol = atol = 1e-5); the CUDA kernels follow torchvision's order. The backward pass
sums float32 contributions in a different order than torchvision's and agrees to
rtol = atol = 1e-4. The CPU backward is deterministic (no atomics, independent of the thread
count).

``multilevel_roi_align`` pools every box from one level of a feature pyramid, chosen by the FPN
rule, exactly like ``torchvision.ops.MultiScaleRoIAlign`` (no ONNX single-op equivalent).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from cellrt import _core
from cellrt._backend import resolve_backend
from cellrt.ops._arrays import (cuda_launch, dtype_name, is_cuda_tensor, is_int, is_torch, like,
                                real_number, to_numpy)

__all__ = [
    "multilevel_roi_align",
    "multilevel_roi_align_backward",
    "roi_align",
    "roi_align_backward",
]

_CPU_DTYPES = (np.float32, np.float64)


def _output_size(op: str, output_size: Any) -> tuple[int, int]:
    """``int`` or ``(oh, ow)`` -> ``(oh, ow)``, each an integer >= 1."""
    if is_int(output_size):
        size = (int(output_size), int(output_size))
    elif (
        isinstance(output_size, (tuple, list))
        and len(output_size) == 2
        and all(is_int(v) for v in output_size)
    ):
        size = (int(output_size[0]), int(output_size[1]))
    else:
        raise TypeError(f"{op}: output_size must be an int or a pair of ints, got {output_size!r}")
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"{op}: output_size must be >= 1, got {size}")
    return size


def _sampling(op: str, sampling_ratio: Any, aligned: Any) -> tuple[int, bool]:
    if not is_int(sampling_ratio):
        raise TypeError(f"{op}: sampling_ratio must be an int, got {sampling_ratio!r}")
    if not isinstance(aligned, (bool, np.bool_)):
        raise TypeError(f"{op}: aligned must be a bool, got {aligned!r}")
    return int(sampling_ratio), bool(aligned)


def _attributes(op: str, spatial_scale: Any, sampling_ratio: Any, aligned: Any) -> tuple:
    spatial_scale = real_number(op, "spatial_scale", spatial_scale)
    if not (math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f"{op}: spatial_scale must be finite and > 0, got {spatial_scale}")
    return (spatial_scale, *_sampling(op, sampling_ratio, aligned))


def _boxes(op: str, boxes: Any, dtype) -> np.ndarray:
    """(K, 5) host array of the compute dtype (a copy only when needed; never mutated)."""
    b = to_numpy(boxes, op, "boxes", ndim=2)
    if b.dtype.kind not in "fiu":
        raise TypeError(f"{op}: boxes must be a real-valued array, got dtype {b.dtype}")
    if b.shape[1] != 5:
        raise ValueError(
            f"{op}: boxes must have shape (K, 5) = (batch_index, x1, y1, x2, y2), "
            f"got {tuple(b.shape)}"
        )
    return np.ascontiguousarray(b, dtype=dtype)


def _feature_map(op: str, arg: str, x: Any) -> tuple[np.ndarray, bool]:
    """A float32/float64 host map as (array, channels_last).

    A channels-last map (NHWC in memory, e.g. ``t.to(memory_format=torch.channels_last)`` or
    ``a.transpose(0, 3, 1, 2)`` of an NHWC array) is passed as its (N, H, W, C) view, which saves
    the kernel its own transposition; anything else becomes C-contiguous NCHW.
    """
    if is_torch(x) and x.dim() == 4 and not x.is_contiguous():
        nhwc = x.permute(0, 2, 3, 1)
        if nhwc.is_contiguous():
            return to_numpy(nhwc, op, arg, dtypes=_CPU_DTYPES), True
    if isinstance(x, np.ndarray) and x.ndim == 4 and not x.flags.c_contiguous:
        nhwc = x.transpose(0, 2, 3, 1)
        if nhwc.flags.c_contiguous:
            return to_numpy(nhwc, op, arg, dtypes=_CPU_DTYPES), True
    return to_numpy(x, op, arg, dtypes=_CPU_DTYPES, ndim=4), False


def roi_align(
    input: Any,
    boxes: Any,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
    *,
    backend: str = "auto",
):
    """Pool each box of ``boxes`` from ``input`` into an ``output_size`` grid (RoIAlign).

    Same semantics and signature as ``torchvision.ops.roi_align``; see the module docstring
    for the full spec, coordinate convention and boundary rules.

    Parameters
    ----------
    input : numpy.ndarray or torch.Tensor
        Feature maps of shape (N, C, H, W), H and W >= 1. float32 or float64 (float16 too
        on CUDA). Channels-last memory layout is used as is, without a copy.
    boxes : numpy.ndarray or torch.Tensor
        (K, 5) rows ``(batch_index, x1, y1, x2, y2)`` in image pixels; cast to the compute
        dtype (float32 for float16 input). ``batch_index`` must lie in ``[0, N)``.
    output_size : int or tuple of int
        ``oh`` (square) or ``(oh, ow)``, each >= 1.
    spatial_scale : float, optional
        Feature-map pixels per image pixel (e.g. 0.25 for a stride-4 map). Finite, > 0.
    sampling_ratio : int, optional
        Bilinear samples per bin side; <= 0 selects ``ceil(RoI size / output size)``.
    aligned : bool, optional
        True: half-pixel model (Detectron2). False: legacy Mask R-CNN model.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" follows the device of ``input`` (CUDA boxes with a host ``input`` are an error).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (K, C, oh, ow) of the dtype of ``input``; a torch tensor when ``input`` is one.

    Raises
    ------
    TypeError
        Unsupported array type or dtype, or wrongly typed attributes.
    ValueError
        Wrong shapes, output_size < 1, spatial_scale not finite and > 0, or a batch index
        outside ``[0, N)``.
    """
    op = "roi_align"
    oh, ow = _output_size(op, output_size)
    scale, ratio, aligned = _attributes(op, spatial_scale, sampling_ratio, aligned)
    # The backend follows the feature map; boxes are moved to it (CUDA) or rejected (CPU).
    if resolve_backend(op, backend, is_cuda_tensor(input)) == "cuda":
        return _roi_align_cuda(input, boxes, oh, ow, scale, ratio, aligned)
    x, channels_last = _feature_map(op, "input", input)
    b = _boxes(op, boxes, x.dtype)
    out = _core.roi_align_forward(x, b, oh, ow, scale, ratio, aligned, channels_last)
    return like(out, input)


def roi_align_backward(
    grad_output: Any,
    boxes: Any,
    input_shape: Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
    *,
    backend: str = "auto",
):
    """Gradient of :func:`roi_align` with respect to its ``input``.

    Parameters
    ----------
    grad_output : numpy.ndarray or torch.Tensor
        (K, C, oh, ow) gradient of the pooled output; float32 or float64 (float16 too on CUDA).
    boxes : numpy.ndarray or torch.Tensor
        The (K, 5) boxes of the forward call.
    input_shape : sequence of int
        ``(N, C, H, W)`` of the forward call's input.
    spatial_scale, sampling_ratio, aligned : float, int, bool, optional
        As in the forward call.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" follows the device of ``grad_output``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (N, C, H, W) gradient of the dtype of ``grad_output``. The CPU result is deterministic.
    """
    op = "roi_align_backward"
    scale, ratio, aligned = _attributes(op, spatial_scale, sampling_ratio, aligned)
    shape = _shape4(op, input_shape)
    if resolve_backend(op, backend, is_cuda_tensor(grad_output)) == "cuda":
        return _roi_align_backward_cuda(grad_output, boxes, shape, scale, ratio, aligned)
    g = to_numpy(grad_output, op, "grad_output", dtypes=_CPU_DTYPES, ndim=4)
    b = _boxes(op, boxes, g.dtype)
    n, c, h, w = shape
    grad = _core.roi_align_backward(g, b, n, c, h, w, scale, ratio, aligned)
    return like(grad, grad_output)


def _shape4(op: str, shape: Any) -> tuple[int, int, int, int]:
    if not (
        isinstance(shape, (tuple, list))
        and len(shape) == 4
        and all(is_int(v) for v in shape)
    ):
        raise TypeError(f"{op}: input_shape must be 4 ints (N, C, H, W), got {shape!r}")
    return tuple(int(v) for v in shape)  # type: ignore[return-value]


def _fpn_attributes(op: str, scales: Any, canonical_size: Any, canonical_level: Any) -> tuple:
    if not isinstance(scales, (list, tuple)) or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) for s in scales
    ):
        raise TypeError(f"{op}: scales must be a list of floats, got {scales!r}")
    canonical_size = real_number(op, "canonical_size", canonical_size)
    canonical_level = real_number(op, "canonical_level", canonical_level)
    scales = [float(s) for s in scales]
    # Validates scales (consecutive powers of two) and the canonical attributes; one rule, in C++.
    k_min = _core.multilevel_roi_align_k_min(scales, canonical_size, canonical_level)
    return scales, canonical_size, canonical_level, k_min


def multilevel_roi_align(
    features: Sequence[Any],
    boxes: Any,
    output_size: int | tuple[int, int],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float = 224,
    canonical_level: float = 4,
    *,
    aligned: bool = False,
    backend: str = "auto",
):
    """RoIAlign over a feature pyramid: each box pools from the level its size selects.

    Level rule (Mask R-CNN FPN, as ``torchvision.ops.MultiScaleRoIAlign``'s ``LevelMapper``):
    ``k = floor(canonical_level + log2(sqrt(area) / canonical_size) + 1e-6)`` with
    ``area = (x2 - x1) * (y2 - y1)`` in image pixels, clamped to ``[k_min, k_max]`` where
    ``k_min = -log2(scales[0])`` and ``k_max = -log2(scales[-1])``; the box is then pooled from
    ``features[k - k_min]`` with ``spatial_scale = scales[k - k_min]`` exactly as
    :func:`roi_align` does. A box of negative or NaN area (one side inverted) belongs to no level
    and gives zeros, as in torchvision; with a single level every box uses it.

    Parameters
    ----------
    features : sequence of numpy.ndarray or torch.Tensor
        FPN maps, finest first, each (N, C, H_l, W_l) with H_l, W_l >= 1, all of one dtype.
    boxes : numpy.ndarray or torch.Tensor
        (K, 5) rows ``(batch_index, x1, y1, x2, y2)`` in image pixels.
    output_size : int or tuple of int
        ``oh`` or ``(oh, ow)``, each >= 1.
    scales : sequence of float
        Spatial scale of each level, halving from one level to the next, e.g.
        ``[1/4, 1/8, 1/16, 1/32]``.
    sampling_ratio : int
        As in :func:`roi_align`.
    canonical_size : float, optional
        Box side (image pixels) that maps to ``canonical_level``; 224 as in the FPN paper.
    canonical_level : float, optional
        Level of a ``canonical_size`` box; 4 as in the FPN paper.
    aligned : bool, optional
        As in :func:`roi_align`; False matches torchvision's MultiScaleRoIAlign.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" follows the device of ``features[0]``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (K, C, oh, ow) of the dtype of the features.
    """
    op = "multilevel_roi_align"
    oh, ow = _output_size(op, output_size)
    ratio, aligned = _sampling(op, sampling_ratio, aligned)
    scales, size, level, k_min = _fpn_attributes(op, scales, canonical_size, canonical_level)
    features = _feature_list(op, features, len(scales))
    if resolve_backend(op, backend, is_cuda_tensor(features[0])) == "cuda":
        if not all(is_cuda_tensor(f) and f.device == features[0].device for f in features):
            raise ValueError(f"{op}: all features must be on {features[0].device}")
        return _multilevel_cuda(features, boxes, oh, ow, scales, ratio, size, level, k_min, aligned)
    maps = [to_numpy(f, op, f"features[{i}]", dtypes=_CPU_DTYPES, ndim=4) for i, f in enumerate(features)]
    b = _boxes(op, boxes, maps[0].dtype)
    out = _core.multilevel_roi_align_forward(maps, b, oh, ow, scales, ratio, size, level, aligned)
    return like(out, features[0])


def multilevel_roi_align_backward(
    grad_output: Any,
    boxes: Any,
    feature_shapes: Sequence[Sequence[int]],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float = 224,
    canonical_level: float = 4,
    *,
    aligned: bool = False,
    backend: str = "auto",
):
    """Gradients of :func:`multilevel_roi_align` with respect to each feature map.

    Parameters
    ----------
    grad_output : numpy.ndarray or torch.Tensor
        (K, C, oh, ow) gradient of the pooled output.
    boxes : numpy.ndarray or torch.Tensor
        The (K, 5) boxes of the forward call.
    feature_shapes : sequence of sequence of int
        ``(N, C, H_l, W_l)`` of each feature map of the forward call.
    scales, sampling_ratio, canonical_size, canonical_level, aligned, backend
        As in the forward call.

    Returns
    -------
    list of numpy.ndarray or torch.Tensor
        One (N, C, H_l, W_l) gradient per level.
    """
    op = "multilevel_roi_align_backward"
    ratio, aligned = _sampling(op, sampling_ratio, aligned)
    scales, size, level, k_min = _fpn_attributes(op, scales, canonical_size, canonical_level)
    shapes = [_shape4(op, s) for s in feature_shapes]
    if len(shapes) != len(scales) or len({s[:2] for s in shapes}) > 1:
        raise ValueError(
            f"{op}: feature_shapes must give one (N, C, H, W) per scale, with one N and C, "
            f"got {shapes}"
        )
    if resolve_backend(op, backend, is_cuda_tensor(grad_output)) == "cuda":
        return _multilevel_backward_cuda(
            grad_output, boxes, shapes, ratio, scales, size, level, k_min, aligned
        )
    g = to_numpy(grad_output, op, "grad_output", dtypes=_CPU_DTYPES, ndim=4)
    b = _boxes(op, boxes, g.dtype)
    n, c = shapes[0][:2]
    grads = _core.multilevel_roi_align_backward(
        g, b, n, c, [s[2:] for s in shapes], scales, ratio, size, level, aligned
    )
    return [like(x, grad_output) for x in grads]


def _feature_list(op: str, features: Any, num_levels: int) -> list:
    if not isinstance(features, (list, tuple)):
        raise TypeError(f"{op}: features must be a list of (N, C, H, W) maps, got {type(features).__name__}")
    if len(features) != num_levels:
        raise ValueError(
            f"{op}: features and scales must have the same length (one scale per level), "
            f"got {len(features)} and {num_levels}"
        )
    return list(features)


# ---- CUDA (torch tensors on the device; kernels run on the current stream) -------------------


def _cuda_rois(op: str, boxes, x, num_images: int):
    """Boxes as a contiguous (K, 5) tensor of the kernel's box dtype on x's device, validated."""
    import torch

    if not is_torch(boxes):
        raise TypeError(f"{op}: boxes must be a torch.Tensor when input is on CUDA")
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise ValueError(f"{op}: boxes must have shape (K, 5), got {tuple(boxes.shape)}")
    rois = boxes.detach().to(device=x.device, dtype=_cuda_box_dtype(op, x.dtype)).contiguous()
    batch = rois[:, 0]
    bad = ~((batch >= 0) & (batch < num_images))  # written as ~(in range) so NaN is caught
    if bool(bad.any()):
        k = int(torch.nonzero(bad)[0, 0])
        raise ValueError(
            f"{op}: boxes[{k}, 0] must be a batch index in [0, {num_images}), got {float(batch[k])}"
        )
    return rois


def _cuda_box_dtype(op: str, dtype):
    import torch

    table = {torch.float16: torch.float32, torch.float32: torch.float32, torch.float64: torch.float64}
    if dtype not in table:
        raise TypeError(f"{op}: CUDA tensors must be float16, float32 or float64, got {dtype}")
    return table[dtype]


def _roi_align_cuda(input, boxes, oh, ow, scale, ratio, aligned):
    import torch

    op = "roi_align"
    if input.dim() != 4 or input.shape[2] < 1 or input.shape[3] < 1:
        raise ValueError(f"{op}: input must have shape (N, C, H, W), H, W >= 1, got {tuple(input.shape)}")
    x = input.detach().contiguous()
    n, c, h, w = x.shape
    rois = _cuda_rois(op, boxes, x, n)
    out = torch.empty((rois.shape[0], c, oh, ow), dtype=x.dtype, device=x.device)
    if out.numel():
        with cuda_launch(x.device) as (cuda, stream):
            cuda.roi_align_forward(
                x.data_ptr(), rois.data_ptr(), out.data_ptr(), n, c, h, w, rois.shape[0], oh, ow,
                scale, ratio, aligned, dtype_name(x), stream,
            )
    return out


def _roi_align_backward_cuda(grad_output, boxes, shape, scale, ratio, aligned):
    import torch

    op = "roi_align_backward"
    g = grad_output.detach().contiguous()
    n, c, h, w = shape
    if g.dim() != 4 or g.shape[1] != c or h < 1 or w < 1:
        raise ValueError(f"{op}: grad_output must have shape (K, {c}, oh, ow), got {tuple(g.shape)}")
    rois = _cuda_rois(op, boxes, g, n)
    grad = torch.zeros(shape, dtype=g.dtype, device=g.device)
    if g.numel():
        with cuda_launch(g.device) as (cuda, stream):
            cuda.roi_align_backward(
                g.data_ptr(), rois.data_ptr(), grad.data_ptr(), n, c, h, w, rois.shape[0],
                g.shape[2], g.shape[3], scale, ratio, aligned, dtype_name(g), stream,
            )
    return grad


def _cuda_levels(boxes, like_tensor, num_levels, size, level, k_min):
    """FPN level of each box, computed on the device by the shared level rule in the box dtype."""
    import torch

    op = "multilevel_roi_align"
    rois = boxes.detach().to(like_tensor.device, _cuda_box_dtype(op, like_tensor.dtype)).contiguous()
    levels = torch.empty(rois.shape[0], dtype=torch.int64, device=rois.device)
    if rois.shape[0]:
        with cuda_launch(rois.device) as (cuda, stream):
            cuda.roi_align_fpn_levels(
                rois.data_ptr(), levels.data_ptr(), rois.shape[0], size, level, k_min, num_levels,
                dtype_name(like_tensor), stream,
            )
    return levels


def _multilevel_cuda(features, boxes, oh, ow, scales, ratio, size, level, k_min, aligned):
    import torch

    x0 = features[0]
    levels = _cuda_levels(boxes, x0, len(scales), size, level, k_min)
    out = torch.zeros((boxes.shape[0], x0.shape[1], oh, ow), dtype=x0.dtype, device=x0.device)
    for l, (f, s) in enumerate(zip(features, scales)):
        idx = torch.nonzero(levels == l).squeeze(1)
        if idx.numel():
            out[idx] = _roi_align_cuda(f, boxes[idx], oh, ow, s, ratio, aligned)
    return out


def _multilevel_backward_cuda(grad_output, boxes, shapes, ratio, scales, size, level, k_min, aligned):
    import torch

    levels = _cuda_levels(boxes, grad_output, len(scales), size, level, k_min)
    grads = []
    for l, (shape, s) in enumerate(zip(shapes, scales)):
        idx = torch.nonzero(levels == l).squeeze(1)
        grads.append(
            _roi_align_backward_cuda(grad_output[idx], boxes[idx], shape, s, ratio, aligned)
        )
    return grads
