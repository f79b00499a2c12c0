"""Compiled post-processing ops (NumPy arrays or torch tensors in, same kind out).

Each op has a docstring stating shapes, dtypes and coordinate conventions, a slow reference in
:mod:`cellrt.reference`, and a CPU kernel with a CUDA twin that share one element function.
"""

from cellrt.ops.attention_fusion import attention_fusion
from cellrt.ops.boundary_votes import boundary_votes
from cellrt.ops.label import fill_holes, label, relabel_sequential, remove_small_objects
from cellrt.ops.nms import batched_nms, nms
from cellrt.ops.paste_masks import paste_masks
from cellrt.ops.regionprops import regionprops
from cellrt.ops.roi_align import multilevel_roi_align, roi_align
from cellrt.ops.watershed import watershed

__all__ = [
    "attention_fusion",
    "batched_nms",
    "boundary_votes",
    "fill_holes",
    "label",
    "multilevel_roi_align",
    "nms",
    "paste_masks",
    "regionprops",
    "relabel_sequential",
    "remove_small_objects",
    "roi_align",
    "watershed",
]
