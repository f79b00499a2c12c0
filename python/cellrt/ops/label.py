"""Connected-component labelling and label-image utilities.

Conventions shared by every function here
------------------------------------------
* Images are 2-D ``(H, W)`` arrays, row-major; pixel ``(y, x)`` is row ``y``, column ``x``.
* A *label image* holds non-negative integers: 0 is background, each positive value one
  instance. Negative values raise ValueError. Label images may have any integer dtype; results
  keep it (int8/int16/uint8/uint16 are computed as int32, uint32/uint64 as int64, and cast back).
* NumPy arrays or torch tensors are accepted and the same kind is returned; CUDA tensors run on
  the GPU (``backend="auto"`` follows the data, ``"cpu"``/``"cuda"`` insist).
* Inputs are never modified.

Spec
----
``label(binary, connectivity=1)``
    binary: ``(H, W)`` bool, integer or float; a pixel is foreground when it is nonzero (so NaN
    is foreground). connectivity: 1 (4-neighbourhood: pixels sharing an edge) or 2
    (8-neighbourhood: sharing an edge or a corner). Returns int32 ``(H, W)``: 0 background,
    components numbered 1..N in raster order of each component's first pixel (the smallest
    ``y * W + x``). This is exactly ``skimage.measure.label(binary, connectivity=...)``, and
    equals ``scipy.ndimage.label`` / ``cv2.connectedComponents`` up to renumbering. No ONNX
    equivalent. Exact integer results (no tolerance).
``relabel_sequential(labels)``
    Positive values renumbered 1..N in increasing order of the original value (not of first
    appearance); 0 stays 0. Equals ``skimage.segmentation.relabel_sequential(labels)[0]``.
``remove_small_objects(labels, min_size)``
    Instances (all pixels sharing one positive value, connected or not) with fewer than
    ``min_size`` pixels become 0; survivors keep their value (no renumbering). Equals
    ``skimage.morphology.remove_small_objects(labels, max_size=min_size - 1)`` on integer input.
``fill_holes(labels)``
    A hole is a 4-connected component of background pixels that does not touch the image border
    and whose 4-neighbours outside it all belong to one instance; it is filled with that label.
    Background enclosed jointly by several instances, or enclosing another instance, stays 0.
    Where each hole is pure background this equals ``scipy.ndimage.binary_fill_holes`` applied
    to each instance's mask.

GPU algorithm (``label``): union-find in the style of Komura / Playne & Hawick. Each pixel
starts as its own root, joins neighbouring trees by atomic hooking of the larger root under the
smaller, points at its root, and roots are numbered by a prefix sum; roots are the first pixels
of their components, so the GPU result equals the CPU result exactly. The CPU uses a run-based
two-scan union-find over row strips (OpenMP).
"""

from __future__ import annotations

import operator

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import cuda_launch, is_cuda_tensor, is_int, like, to_numpy

__all__ = ["fill_holes", "label", "relabel_sequential", "remove_small_objects"]

# int32/int64 are computed as they are; narrower types widen to int32, unsigned 32/64-bit to int64.
_LABEL_COMPUTE = {
    np.dtype(np.int8): np.int32,
    np.dtype(np.int16): np.int32,
    np.dtype(np.uint8): np.int32,
    np.dtype(np.uint16): np.int32,
    np.dtype(np.int32): np.int32,
    np.dtype(np.int64): np.int64,
    np.dtype(np.uint32): np.int64,
    np.dtype(np.uint64): np.int64,
}


def _check_connectivity(op: str, connectivity) -> int:
    if not is_int(connectivity):
        raise TypeError(
            f"{op}: connectivity must be an int (1 or 2), got {type(connectivity).__name__}"
        )
    if connectivity not in (1, 2):
        raise ValueError(
            f"{op}: connectivity must be 1 (4-neighbour) or 2 (8-neighbour), got {connectivity}"
        )
    return int(connectivity)


def _label_array(op: str, labels, ndim=None) -> tuple[np.ndarray, np.dtype]:
    """(labels as C-contiguous int32/int64 ndarray, dtype to return)."""
    arr = to_numpy(labels, op, "labels", ndim=ndim)
    if arr.dtype == np.bool_:
        raise TypeError(
            f"{op}: labels must be an integer label image, got bool; "
            "turn a mask into instances with cellrt.ops.label first"
        )
    compute = _LABEL_COMPUTE.get(arr.dtype)
    if compute is None:
        raise TypeError(f"{op}: labels must have an integer dtype, got {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{op}: labels must be < 2**63, got maximum {arr.max()}")
    return np.ascontiguousarray(arr.astype(compute, copy=False)), arr.dtype


def _cuda_labels(op: str, labels):
    """CUDA tensor -> contiguous int32 tensor on the same device (the GPU kernels' label type)."""
    import torch

    if labels.dtype in (torch.bool, torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise TypeError(f"{op}: labels must have an integer dtype, got {labels.dtype}")
    if labels.numel():
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0:
            raise ValueError(f"{op}: labels must be non-negative, got minimum {lo}")
        if hi > np.iinfo(np.int32).max:
            raise ValueError(f"{op}: the CUDA path needs labels < 2**31, got maximum {hi}")
    return labels.to(torch.int32).contiguous()


def label(binary, connectivity=1, *, backend="auto"):
    """Label the connected components of a 2-D mask.

    Parameters
    ----------
    binary : numpy.ndarray or torch.Tensor, shape (H, W)
        Mask of any bool, integer or float dtype; nonzero pixels (NaN included) are foreground.
    connectivity : int, default 1
        1: pixels sharing an edge are connected (4-neighbourhood); 2: sharing an edge or a
        corner (8-neighbourhood). Same meaning as in scikit-image.
    backend : {"auto", "cpu", "cuda"}, default "auto"
        "auto" runs CUDA tensors on the GPU and everything else on the CPU.

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (H, W), int32
        0 on background, components 1..N numbered in raster order of their first pixel; equal to
        ``skimage.measure.label(binary, connectivity=connectivity)``.

    Raises
    ------
    ValueError
        If ``binary`` is not 2-D or ``connectivity`` is not 1 or 2.
    TypeError
        If ``binary`` is not a numeric array.
    """
    op = "label"
    connectivity = _check_connectivity(op, connectivity)
    if _backend.resolve_backend(op, backend, is_cuda_tensor(binary)) == "cuda":
        return _label_cuda(binary, connectivity)
    arr = to_numpy(binary, op, "binary", ndim=2)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: binary must be a bool, integer or float array, got {arr.dtype}")
    # One byte per pixel for the kernel: bool and 8-bit integers already are (nonzero is kept).
    if arr.dtype.itemsize == 1:
        fg = arr.view(np.uint8)
    else:
        fg = (arr != 0).view(np.uint8)
    labels, _ = _core.label(fg, connectivity)
    return like(labels, binary)


def _label_cuda(binary, connectivity: int):
    import torch

    if binary.dim() != 2:
        raise ValueError(f"label: binary must be 2-D, got shape {tuple(binary.shape)}")
    with cuda_launch(binary.device) as (cuda, stream):
        fg = (binary != 0).to(torch.uint8).contiguous()
        h, w = fg.shape
        out = torch.empty((h, w), dtype=torch.int32, device=fg.device)
        if fg.numel() == 0:
            return out
        parent, rank = torch.empty_like(out), torch.empty_like(out)
        temp = torch.empty(cuda.label_workspace_bytes(h * w), dtype=torch.uint8, device=fg.device)
        cuda.label(fg.data_ptr(), h, w, connectivity, parent.data_ptr(), rank.data_ptr(),
                   temp.data_ptr(), temp.numel(), out.data_ptr(), stream)
    return out


def relabel_sequential(labels, *, backend="auto"):
    """Renumber the instances of a label image to 1..N, keeping the order of their values.

    Parameters
    ----------
    labels : numpy.ndarray or torch.Tensor, any shape, integer dtype, values >= 0
        Label image; 0 is background.
    backend : {"auto", "cpu", "cuda"}, default "auto"

    Returns
    -------
    numpy.ndarray or torch.Tensor, same shape and dtype as ``labels``
        The smallest positive value becomes 1, the next 2, ...; 0 stays 0. Equal to
        ``skimage.segmentation.relabel_sequential(labels)[0]``.

    Raises
    ------
    ValueError
        If ``labels`` holds negative values.
    TypeError
        If ``labels`` is not an integer array (bool included).
    """
    op = "relabel_sequential"
    if _backend.resolve_backend(op, backend, is_cuda_tensor(labels)) == "cuda":
        return _lut_cuda(op, labels, None)
    arr, dtype = _label_array(op, labels)
    out, _ = _core.relabel_sequential(arr)
    return like(out.astype(dtype, copy=False), labels)


def remove_small_objects(labels, min_size, *, backend="auto"):
    """Remove instances with fewer than ``min_size`` pixels from a label image.

    Parameters
    ----------
    labels : numpy.ndarray or torch.Tensor, any shape, integer dtype, values >= 0
        Label image; an instance is every pixel of one positive value, connected or not.
    min_size : int, >= 0
        Instances whose area (pixel count) is below ``min_size`` are set to 0.
    backend : {"auto", "cpu", "cuda"}, default "auto"

    Returns
    -------
    numpy.ndarray or torch.Tensor, same shape and dtype as ``labels``
        Survivors keep their value; labels are not renumbered (use :func:`relabel_sequential`).
        Equal to ``skimage.morphology.remove_small_objects(labels, max_size=min_size - 1)``.

    Raises
    ------
    ValueError
        If ``min_size`` is negative or ``labels`` holds negative values.
    TypeError
        If ``min_size`` is not an integer or ``labels`` is not an integer array.
    """
    op = "remove_small_objects"
    if not is_int(min_size):
        raise TypeError(f"{op}: min_size must be an int, got {type(min_size).__name__}")
    min_size = operator.index(min_size)
    if min_size < 0:
        raise ValueError(f"{op}: min_size must be >= 0, got {min_size}")
    if _backend.resolve_backend(op, backend, is_cuda_tensor(labels)) == "cuda":
        return _lut_cuda(op, labels, min_size)
    arr, dtype = _label_array(op, labels)
    out = _core.remove_small_objects(arr, min_size)
    return like(out.astype(dtype, copy=False), labels)


def _lut_cuda(op: str, labels, min_size):
    """GPU relabel_sequential (min_size None) or remove_small_objects: per-value area histogram
    with atomic adds, a lookup table over values, one gather."""
    import torch

    with cuda_launch(labels.device) as (cuda, stream):
        lab = _cuda_labels(op, labels)
        if lab.numel() == 0:
            return labels.clone()
        bins = int(lab.max()) + 1
        counts = torch.zeros(bins, dtype=torch.int32, device=lab.device)
        lut = torch.empty(bins, dtype=torch.int32, device=lab.device)
        out = torch.empty_like(lab)
        cuda.label_histogram(lab.data_ptr(), lab.numel(), counts.data_ptr(), stream)
        if min_size is None:
            rank = torch.cumsum(counts > 0, 0)  # int64 inclusive prefix count of present values
            cuda.relabel_lut(counts.data_ptr(), rank.data_ptr(), bins, lut.data_ptr(), stream)
        else:
            cuda.remove_small_lut(counts.data_ptr(), bins, min_size, lut.data_ptr(), stream)
        cuda.label_lookup(lab.data_ptr(), lab.numel(), lut.data_ptr(), out.data_ptr(), stream)
    return out.to(labels.dtype)


def fill_holes(labels, *, backend="auto"):
    """Fill background holes enclosed by a single instance with that instance's label.

    Parameters
    ----------
    labels : numpy.ndarray or torch.Tensor, shape (H, W), integer dtype, values >= 0
        Label image; 0 is background.
    backend : {"auto", "cpu", "cuda"}, default "auto"

    Returns
    -------
    numpy.ndarray or torch.Tensor, same shape and dtype as ``labels``
        A hole (4-connected background component not touching the border, all of whose
        4-neighbours outside it carry one label) takes that label; everything else is unchanged.

    Raises
    ------
    ValueError
        If ``labels`` is not 2-D or holds negative values.
    TypeError
        If ``labels`` is not an integer array.
    """
    op = "fill_holes"
    if _backend.resolve_backend(op, backend, is_cuda_tensor(labels)) == "cuda":
        return _fill_holes_cuda(labels)
    arr, dtype = _label_array(op, labels, ndim=2)
    out = _core.fill_holes(arr)
    return like(out.astype(dtype, copy=False), labels)


def _fill_holes_cuda(labels):
    import torch

    op = "fill_holes"
    if labels.dim() != 2:
        raise ValueError(f"{op}: labels must be 2-D, got shape {tuple(labels.shape)}")
    with cuda_launch(labels.device) as (cuda, stream):
        lab = _cuda_labels(op, labels)
        if lab.numel() == 0:
            return labels.clone()
        comp = _label_cuda(lab == 0, 1)
        # One verdict per background component, starting at kHoleNone (-1, label_params.h).
        owner = torch.full((int(comp.max()) + 1,), -1, dtype=torch.int32, device=lab.device)
        out = torch.empty_like(lab)
        h, w = lab.shape
        cuda.fill_holes(lab.data_ptr(), h, w, comp.data_ptr(), owner.data_ptr(), out.data_ptr(),
                        stream)
    return out.to(labels.dtype)
