"""torch.ops.cellrt.nms and torch.ops.cellrt.batched_nms: cellrt kernels as torch custom ops.

CPU tensors run the grid-sweep CPU kernel, CUDA tensors the bitmask CUDA path (see
:mod:`cellrt.ops.nms` for the semantics). The output length depends on the data, so the fake
(meta) implementations allocate an unbacked dynamic size; this lets ``torch.compile`` and
``torch.export`` trace through the ops. There is no autograd formula: the output is integer
indices.
"""

from __future__ import annotations

import torch

from cellrt.ops.nms import batched_nms as _batched_nms
from cellrt.ops.nms import nms as _nms


@torch.library.custom_op("cellrt::nms", mutates_args=())
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Kept box indices (int64, decreasing score) of greedy NMS; see :func:`cellrt.ops.nms`."""
    return _nms(boxes, scores, iou_threshold)


@torch.library.custom_op("cellrt::batched_nms", mutates_args=())
def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor,
                iou_threshold: float) -> torch.Tensor:
    """Per-category greedy NMS; see :func:`cellrt.ops.batched_nms`."""
    return _batched_nms(boxes, scores, idxs, iou_threshold)


def _fake_keep(boxes: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    torch._check(boxes.dim() == 2 and boxes.shape[1] == 4,
                 lambda: f"cellrt::nms: boxes must have shape (N, 4), got {tuple(boxes.shape)}")
    torch._check(scores.dim() == 1 and scores.shape[0] == boxes.shape[0],
                 lambda: f"cellrt::nms: scores must have shape (N,), got {tuple(scores.shape)}")
    # 0 <= K <= N kept boxes, known only at run time.
    k = torch.library.get_ctx().new_dynamic_size()
    return boxes.new_empty((k,), dtype=torch.int64)


@nms.register_fake
def _(boxes, scores, iou_threshold):
    return _fake_keep(boxes, scores)


@batched_nms.register_fake
def _(boxes, scores, idxs, iou_threshold):
    torch._check(idxs.dim() == 1 and idxs.shape[0] == boxes.shape[0],
                 lambda: f"cellrt::batched_nms: idxs must have shape (N,), got {tuple(idxs.shape)}")
    return _fake_keep(boxes, scores)
