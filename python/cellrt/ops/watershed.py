"""Marker-controlled watershed (priority flood with scikit-image's order).

Spec
----
Inputs
    ``image``: (H, W) array of bool, uint8, uint16, int8..int64, uint32, uint64, float16,
    float32 or float64: the relief to flood, low values first. Values are compared exactly, in
    float64 for the integer types that float32 cannot hold (the conversion scikit-image makes).
    NaN inside the mask is an error.
    ``markers``: (H, W) integer (or bool) labels, 0 = unlabelled; every label must fit int32.
    ``mask``: optional (H, W) bool (or integer, nonzero = inside); pixels outside get 0 and are
    never crossed. Markers outside the mask are ignored.
    ``connectivity``: 1 (4-neighbour) or 2 (8-neighbour).
Output
    (H, W) int32 labels: each marker's label grown over the pixels it floods; 0 outside the mask
    and in mask components that hold no marker.
ONNX equivalent
    none.
Tolerance
    exact (integer labels); see "Agreement with scikit-image" for where ties make room for
    another equally valid answer.

Order of the flood
------------------
That of ``skimage.segmentation.watershed(image, markers, connectivity=..., mask=...)``
(scikit-image 0.26, no compactness, no watershed line; the reworked watershed of 0.25, see
scikit-image issue #7661): a queue ordered by (priority, age).
Marker pixels enter first with priority = their value. Popping a pixel gives its label at once to
every unlabelled in-mask neighbour (scanned up, left, right, down, then up-left, up-right,
down-left, down-right) and queues each with priority ``max(value, popped priority)`` and the next
age, so equal priorities leave first-in first-out. (Older scikit-image queued a pixel at its own
value; on tie-free inputs both orders give the same labels.) ``cellrt.reference.watershed_ref``
is the readable version.

Agreement with scikit-image
---------------------------
The one free choice is the order of marker pixels with equal values: here raster order, in
scikit-image all have age 0 and their order is an accident of its heap's layout. Hence:

* if no two in-mask marker pixels share a value (in particular when all values are distinct),
  the labels are identical to scikit-image's, plateaus elsewhere included;
* otherwise they can differ only where equal-valued fronts meet. Both results are valid
  watersheds: every pixel carries the label of one of its neighbours of smallest arrival state
  (minimax level, steps on the plateau; ``cellrt.reference.watershed_ref.arrival_states``), and
  at every differing pixel both labels arrive at the same minimax level (the tests check
  both). On raw Euclidean distance maps (few distinct values) this touches some tens of pixels
  per million; on continuous maps (network outputs) none.

Algorithms
----------
CPU: an exact bucket queue replaces the heap (pops are monotone, so the order is unchanged), one
connected component of the mask at a time (components never interact; they are spread over the
threads). GPU: iterative relaxation of each pixel's (minimax arrival level, steps on its plateau)
state to a fixed point, then parent pointers and pointer jumping; with pairwise distinct in-mask
values it gives the CPU labels exactly, with ties any neighbour of smallest state may win.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import (LABEL_OR_MASK_DTYPES, cuda_device, cuda_launch,
                               is_cuda_tensor, is_int, like, to_numpy)

_OP = "watershed"

# Image dtype -> dtype the CPU kernel floods in (value order and ties preserved exactly).
_KERNEL_DTYPE = {
    np.dtype(np.bool_): np.uint8,
    np.dtype(np.uint8): np.uint8,
    np.dtype(np.uint16): np.uint16,
    np.dtype(np.int8): np.float32,
    np.dtype(np.int16): np.float32,
    np.dtype(np.float16): np.float32,
    np.dtype(np.float32): np.float32,
    np.dtype(np.int32): np.float64,
    np.dtype(np.uint32): np.float64,
    np.dtype(np.int64): np.float64,  # as scikit-image: beyond 2**53 neighbours may tie
    np.dtype(np.uint64): np.float64,
    np.dtype(np.float64): np.float64,
}


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


def _check_connectivity(connectivity: Any) -> int:
    if not is_int(connectivity):
        raise TypeError(f"{_OP}: connectivity must be the int 1 or 2, got {connectivity!r}")
    if connectivity not in (1, 2):
        raise ValueError(
            f"{_OP}: connectivity must be 1 (4-neighbour) or 2 (8-neighbour), got {connectivity}"
        )
    return int(connectivity)


def _markers_int32(markers: np.ndarray) -> np.ndarray:
    if markers.dtype.itemsize >= 4 and markers.dtype != np.int32 and markers.size:
        lo, hi = markers.min(), markers.max()
        info = np.iinfo(np.int32)
        if lo < info.min or hi > info.max:
            raise ValueError(
                f"{_OP}: markers must fit int32, got values in [{lo}, {hi}]; relabel them "
                "(e.g. cellrt.ops.relabel_sequential) first"
            )
    return np.ascontiguousarray(markers, dtype=np.int32)


def watershed(image, markers, mask=None, connectivity=1, *, backend: str = "auto"):
    """Marker-controlled watershed of a 2-D image; see the module docstring for the full spec.

    Parameters
    ----------
    image : numpy.ndarray or torch.Tensor, shape (H, W)
        Relief to flood (row, col order); lower values are flooded first. Any real dtype.
    markers : numpy.ndarray or torch.Tensor, shape (H, W)
        Integer seed labels (0 = unlabelled); every label must fit int32.
    mask : numpy.ndarray or torch.Tensor, shape (H, W), optional
        True (nonzero) where pixels may be labelled; None means everywhere.
    connectivity : int
        1 for the 4-neighbourhood, 2 for the 8-neighbourhood.
    backend : {"auto", "cpu", "cuda"}
        "auto" runs on the device of the inputs (CUDA tensors -> GPU).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        int32 labels of shape (H, W), the same kind of array as ``image``: 0 outside the mask
        and where no marker reaches, otherwise the label of the marker that floods the pixel.

    Raises
    ------
    ValueError
        Wrong ranks or mismatched shapes, connectivity not 1 or 2, labels beyond int32, NaN in
        the image inside the mask.
    TypeError
        Unsupported dtypes or argument kinds.
    """
    connectivity = _check_connectivity(connectivity)
    on_cuda = any(is_cuda_tensor(x) for x in (image, markers, mask) if x is not None)
    if _backend.resolve_backend(_OP, backend, on_cuda) == "cuda":
        return _watershed_cuda(image, markers, mask, connectivity)

    img = to_numpy(image, _OP, "image", dtypes=_KERNEL_DTYPE.keys(), ndim=2)
    mk = to_numpy(markers, _OP, "markers", dtypes=LABEL_OR_MASK_DTYPES, ndim=2)
    if _shape(mk) != _shape(img):
        raise ValueError(
            f"{_OP}: markers must have the image's shape {_shape(img)}, got {_shape(mk)}"
        )
    m = None
    if mask is not None:
        m = to_numpy(mask, _OP, "mask", dtypes=LABEL_OR_MASK_DTYPES, ndim=2)
        if _shape(m) != _shape(img):
            raise ValueError(
                f"{_OP}: mask must have the image's shape {_shape(img)}, got {_shape(m)}"
            )
        m = np.ascontiguousarray(m if m.dtype == np.bool_ else m != 0)
    kernel_dtype = _KERNEL_DTYPE[img.dtype]
    img = np.ascontiguousarray(img, dtype=kernel_dtype)
    mk = _markers_int32(mk)
    out = _core.watershed(img, mk, m, connectivity)
    return like(out, image)


def _watershed_cuda(image, markers, mask, connectivity: int):
    """GPU path (relaxation + pointer jumping, see watershed_element.h): torch CUDA tensors."""
    import torch

    cuda_device(_OP, (("image", image), ("markers", markers), ("mask", mask)))
    if image.dim() != 2:
        raise ValueError(f"{_OP}: image must be 2-D, got shape {tuple(image.shape)}")
    shape = tuple(image.shape)
    for name, x in (("markers", markers), ("mask", mask)):
        if x is not None and tuple(x.shape) != shape:
            raise ValueError(
                f"{_OP}: {name} must have the image's shape {shape}, got {tuple(x.shape)}"
            )
    if image.is_complex():
        raise TypeError(f"{_OP}: image must be real, got {image.dtype}")
    if image.is_floating_point():
        inside = image if mask is None else image[mask.bool()]
        if torch.isnan(inside).any():
            raise ValueError(f"{_OP}: image contains NaN inside the mask")
    if markers.is_floating_point() or markers.is_complex():
        raise TypeError(f"{_OP}: markers must be integer labels, got {markers.dtype}")
    if markers.numel() and markers.dtype in (torch.int64, torch.uint32, torch.uint64):
        lo, hi = int(markers.min()), int(markers.max())
        if lo < -(2**31) or hi >= 2**31:
            raise ValueError(f"{_OP}: markers must fit int32, got values in [{lo}, {hi}]")
    n = image.numel()
    if n >= 2**31 - 1:
        raise ValueError(f"{_OP}: the GPU path handles fewer than 2**31 - 1 pixels, got {n}")
    out = torch.zeros(shape, dtype=torch.int32, device=image.device)
    if n == 0:
        return out
    # Dense ranks of the values: the kernels compare uint32 levels, ties stay ties.
    levels = torch.unique(image.to(torch.float64), return_inverse=True)[1].to(torch.int32)
    mk = markers.to(torch.int32).contiguous()
    m = None if mask is None else (mask != 0).to(torch.uint8).contiguous()
    state = torch.empty(shape, dtype=torch.int64, device=image.device)
    parent = torch.empty(shape, dtype=torch.int64, device=image.device)
    changed = torch.empty(1, dtype=torch.int32, device=image.device)
    levels = levels.contiguous()
    with cuda_launch(image.device) as (cuda, stream):
        cuda.watershed(
            levels=levels.data_ptr(), markers=mk.data_ptr(), mask=0 if m is None else m.data_ptr(),
            state=state.data_ptr(), parent=parent.data_ptr(), changed=changed.data_ptr(),
            out=out.data_ptr(), height=shape[0], width=shape[1], connectivity=connectivity,
            stream=stream)
    return out


__all__ = ["watershed"]
