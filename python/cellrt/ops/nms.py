"""Greedy non-maximum suppression with torchvision's exact keep list, without its O(N^2) cost.

Spec
----
Inputs
    boxes : (N, 4) float32 or float64, corners ``x1, y1, x2, y2`` in any unit (pixels usually),
        ``area = (x2 - x1) * (y2 - y1)``, no +1 pixel convention.
    scores : (N,) float32 or float64 (the dtype may differ from the boxes').
    idxs : (N,) integer category per box (batched_nms only); int64 after conversion.
    iou_threshold : float. A box is suppressed by a kept, higher-ranked box of the same category
        when ``IoU > iou_threshold`` (strictly).
Output
    (K,) int64 indices of the kept boxes, in decreasing score order; equal scores by lower index
    (stable sort), NaN scores first (as ``torch.sort(descending=True)``).
Equivalents
    ``torchvision.ops.nms`` / ``torchvision.ops.batched_nms``; ONNX ``NonMaxSuppression`` differs
    (top-k per class, score threshold, ``>=`` comparison) and is not a drop-in equivalent.
Tolerance
    None: the keep list is compared exactly. IoU is computed in the boxes' dtype with
    torchvision's operation order and compared with the threshold in float64, so pairs whose IoU
    sits exactly on the threshold are decided as torchvision decides them.

Edge cases (all identical to torchvision.ops.nms)
    * Empty input returns an empty int64 array.
    * A box with a NaN coordinate has a NaN IoU with everything: it is never suppressed and never
      suppresses. NaN scores sort first. Nothing crashes or loops.
    * Zero-area and inverted boxes (x2 <= x1 or y2 <= y1) have no intersection with anything, so for
      ``iou_threshold >= 0`` they are always kept and suppress nothing.
    * Huge or infinite coordinates follow IEEE arithmetic: a box whose area overflows to inf has IoU
      0 or NaN with every box, hence is always kept (torchvision does the same).
    * ``iou_threshold >= 1`` (or NaN) suppresses nothing for ordinary boxes (IoU <= 1).
      ``iou_threshold < 0`` suppresses every box whose IoU with a kept box is defined, even disjoint
      ones (IoU 0 > threshold): the result is the top box plus the boxes with NaN IoU (NaN
      coordinates, or zero area against other zero-area boxes).

batched_nms: boxes of different categories never suppress each other. This is the semantics of
torchvision's category-offset trick, implemented directly (the offset trick shifts coordinates,
which can flip IoUs that sit on the threshold and breaks for negative coordinates); torchvision's
per-class path (``_batched_nms_vanilla``, used for > 1000 CPU boxes) gives the same set, possibly
ordering equal scores differently.

Performance: the CPU kernel sorts once (radix sort) and sweeps the boxes in greedy order,
testing each only against kept boxes in nearby cells of a uniform grid: near-linear on cell-like
detections where torchvision's CPU kernel is quadratic. The CUDA path is the bitmask algorithm
(torch sort, one 64-bit suppression word per (box, 64-box block), host reduction); its mask takes
``N * ceil(N / 64) * 8`` bytes (1.25 GB at N = 100k), so keep N to proposal-sized sets there.
"""

from __future__ import annotations

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import (cuda_device, cuda_launch, dtype_name, is_cuda_tensor, like,
                                real_number, to_numpy)

_FLOAT_DTYPES = (np.float32, np.float64)
_INDEX_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)


def _check_lengths(op: str, boxes_shape, scores_shape, idxs_shape=None) -> None:
    if len(boxes_shape) != 2 or boxes_shape[1] != 4:
        raise ValueError(f"{op}: boxes must have shape (N, 4), got {tuple(boxes_shape)}")
    n = boxes_shape[0]
    if tuple(scores_shape) != (n,):
        raise ValueError(
            f"{op}: scores must have shape (N,) with N = {n} boxes, got {tuple(scores_shape)}"
        )
    if idxs_shape is not None and tuple(idxs_shape) != (n,):
        raise ValueError(
            f"{op}: idxs must have shape (N,) with N = {n} boxes, got {tuple(idxs_shape)}"
        )


def _run(op: str, boxes, scores, idxs, iou_threshold, backend: str):
    thr = real_number(op, "iou_threshold", iou_threshold)
    on_cuda = any(is_cuda_tensor(x) for x in (boxes, scores, idxs) if x is not None)
    if _backend.resolve_backend(op, backend, on_cuda) == "cuda":
        return _run_cuda(op, boxes, scores, idxs, thr)
    b = to_numpy(boxes, op, "boxes", dtypes=_FLOAT_DTYPES, ndim=2)
    s = to_numpy(scores, op, "scores", dtypes=_FLOAT_DTYPES, ndim=1, cast=np.float64)
    i = None
    if idxs is not None:
        i = to_numpy(idxs, op, "idxs", dtypes=_INDEX_DTYPES, ndim=1, cast=np.int64)
    _check_lengths(op, b.shape, s.shape, None if i is None else i.shape)
    # float32 -> float64 scores is exact, so the sort order and its ties are unchanged.
    keep = _core.nms(b, s, thr) if i is None else _core.batched_nms(b, s, i, thr)
    return like(keep, boxes)


def _run_cuda(op: str, boxes, scores, idxs, thr: float):
    """Bitmask NMS on the GPU: torch sort, cellrt mask kernel, host reduction in _core."""
    import torch

    cuda_device(op, (("boxes", boxes), ("scores", scores), ("idxs", idxs)))
    for name, t, ok in (("boxes", boxes, (torch.float32, torch.float64)),
                        ("scores", scores, (torch.float32, torch.float64))):
        if t.dtype not in ok:
            raise TypeError(f"{op}: {name} must be float32 or float64, got {t.dtype}")
    if idxs is not None and (idxs.dtype.is_floating_point or idxs.dtype == torch.bool):
        raise TypeError(f"{op}: idxs must have an integer dtype, got {idxs.dtype}")
    _check_lengths(op, boxes.shape, scores.shape, None if idxs is None else idxs.shape)
    n = boxes.shape[0]
    if n == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    order = torch.sort(scores.detach(), descending=True, stable=True).indices
    sorted_boxes = boxes.detach().index_select(0, order).contiguous()
    sorted_idxs = None if idxs is None else idxs.index_select(0, order).to(torch.int64).contiguous()
    mask = torch.empty((_core.nms_mask_words(n),), dtype=torch.int64, device=boxes.device)
    with cuda_launch(boxes.device) as (cuda, stream):
        cuda.nms_mask(
            sorted_boxes=sorted_boxes.data_ptr(),
            sorted_idxs=0 if sorted_idxs is None else sorted_idxs.data_ptr(),
            n=n, iou_threshold=thr, dtype=dtype_name(boxes), mask=mask.data_ptr(), stream=stream)
    keep_pos = _core.nms_reduce_mask(mask.cpu().numpy().view(np.uint64), n)
    return order[torch.from_numpy(keep_pos).to(boxes.device)]


def nms(boxes, scores, iou_threshold, *, backend="auto"):
    """Greedy IoU non-maximum suppression, keep list identical to ``torchvision.ops.nms``.

    Parameters
    ----------
    boxes : numpy.ndarray or torch.Tensor
        (N, 4) float32 or float64 boxes as corners ``x1, y1, x2, y2``; ``area = (x2 - x1) *
        (y2 - y1)``. Non-contiguous input is fine; it is never modified.
    scores : numpy.ndarray or torch.Tensor
        (N,) float32 or float64 scores. NaN scores rank first (as ``torch.sort``).
    iou_threshold : float
        Boxes with ``IoU > iou_threshold`` (strictly) with a kept, higher-scoring box are dropped.
        Values outside [0, 1] are allowed; see the module docstring.
    backend : {"auto", "cpu", "cuda"}
        "auto" runs on the GPU for CUDA tensors, otherwise on the CPU.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (K,) int64 indices of the kept boxes, decreasing score, equal scores by lower index; a
        torch tensor (on the boxes' device) if `boxes` is a tensor, else a NumPy array.

    Raises
    ------
    TypeError
        Wrong array kind or dtype, or a non-numeric threshold.
    ValueError
        Wrong shapes or mismatched lengths, or a backend the data is not on.
    """
    return _run("nms", boxes, scores, None, iou_threshold, backend)


def batched_nms(boxes, scores, idxs, iou_threshold, *, backend="auto"):
    """Per-category greedy NMS: boxes with different `idxs` never suppress each other.

    Same keep set as ``torchvision.ops.batched_nms`` (which uses a coordinate-offset trick for
    small inputs and per-class NMS for large ones); here the categories are separated directly,
    so IoUs are always computed on the original coordinates.

    Parameters
    ----------
    boxes : numpy.ndarray or torch.Tensor
        (N, 4) float32 or float64 boxes as corners ``x1, y1, x2, y2``.
    scores : numpy.ndarray or torch.Tensor
        (N,) float32 or float64 scores.
    idxs : numpy.ndarray or torch.Tensor
        (N,) integer category of each box (any values, negative allowed).
    iou_threshold : float
        Suppress when ``IoU > iou_threshold`` (strictly) within a category.
    backend : {"auto", "cpu", "cuda"}
        "auto" runs on the GPU for CUDA tensors, otherwise on the CPU.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (K,) int64 indices of the kept boxes over all categories, decreasing score, equal scores
        by lower index; the same kind as `boxes`.

    Raises
    ------
    TypeError
        Wrong array kind or dtype, or a non-numeric threshold.
    ValueError
        Wrong shapes or mismatched lengths, or a backend the data is not on.
    """
    if idxs is None:
        raise TypeError("batched_nms: idxs must be an integer array, got None (use nms)")
    return _run("batched_nms", boxes, scores, idxs, iou_threshold, backend)
