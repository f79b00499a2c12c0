"""RoI mask probabilities -> one full-image instance label image (Mask R-CNN's mask paste)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import (cuda_device, cuda_launch, dtype_name, is_cuda_tensor, is_int,
                                like, real_number, to_numpy)

_OP = "paste_masks"
_FLOATS = (np.float16, np.float32, np.float64)


def paste_masks(masks: Any, boxes: Any, scores: Any, image_shape, threshold: float = 0.5, *,
                backend: str = "auto"):
    """Paste RoI mask probabilities into their boxes and return one instance label image.

    Each mask is resampled bilinearly into its box, thresholded, and written into a single int32
    label image; where instances overlap, the higher score wins. Only the pixels near each box
    are evaluated, which is what makes this much faster than interpolating every RoI over the
    whole image.

    Parameters
    ----------
    masks : numpy.ndarray or torch.Tensor, shape (R, mask_h, mask_w) or (R, 1, mask_h, mask_w)
        Mask probabilities (e.g. sigmoid outputs of a 28 x 28 mask head). float16, float32 or
        float64 (float16 computes in float32 on the CPU).
    boxes : numpy.ndarray or torch.Tensor, shape (R, 4)
        ``(x1, y1, x2, y2)`` in continuous image pixel coordinates (pixel (y, x) covers
        ``[x, x + 1) x [y, y + 1)``), any float dtype.
    scores : numpy.ndarray or torch.Tensor, shape (R,)
        Instance scores, compared as float32, any float dtype.
    image_shape : tuple of int
        ``(H, W)`` of the label image.
    threshold : float, optional
        A pixel belongs to an instance when its probability is strictly greater than this;
        in [0, 1]. Default 0.5.
    backend : {"auto", "cpu", "cuda"}, optional
        "auto" runs where the data is (CUDA tensors on the GPU).

    Returns
    -------
    numpy.ndarray or torch.Tensor, shape (H, W), int32
        0 for background, ``i + 1`` where instance ``i`` (its row in `masks`) won the pixel.
        Same kind and device as `masks`.

    Notes
    -----
    Spec (detectron2's ``_do_paste_mask`` convention, "paste by sampling the box"). Pixel
    ``(py, px)`` is evaluated at its centre. The mask tiles its box exactly, so the centre maps to
    mask coordinates (mask cell centres at integers)::

        u = (px + 0.5 - x1) * mask_w / (x2 - x1) - 0.5
        v = (py + 0.5 - y1) * mask_h / (y2 - y1) - 0.5

    and its probability is the bilinear interpolation of the mask at ``(u, v)`` with zeros
    outside the mask, i.e. ``torch.nn.functional.grid_sample(mask, grid, mode="bilinear",
    padding_mode="zeros", align_corners=False)`` with the grid normalised over the box
    (interpolated along x within the two rows, then along y, so a constant region of the mask
    interpolates to exactly its value; grid_sample's sum of four weight products can round 1.0
    up by one ulp, the only place where the two can disagree in float64). It is
    nonzero only within half a mask cell of the box, and only those pixels are evaluated.
    (torchvision's ``paste_masks_in_image`` instead pads the mask by one cell, resizes it to the
    integer box size and pastes it at integer offsets: up to about a pixel of difference.)

    Rules:

    - a pixel joins instance ``i`` when ``prob > threshold`` (strict): ``threshold=0`` pastes the
      whole support of each mask (every pixel with a positive probability), ``threshold=1``
      pastes nothing for probabilities in [0, 1]; NaN probabilities are never pasted;
    - overlaps: the higher float32 score wins; equal scores (``-0.0 == 0.0``): the lower index;
    - boxes with a NaN or infinite coordinate, or with ``x2 <= x1`` or ``y2 <= y1``, paste nothing,
      and neither do instances with a NaN score; boxes may extend beyond the image;
    - the CPU computes coordinates and interpolation in float64, CUDA in float32, so the two can
      differ on pixels whose probability is within ~1e-6 of the threshold.

    No ONNX equivalent (ONNX ``GridSample`` per RoI plus ``ScatterND`` could emulate it).
    Tested for exact equality with that plain torch formulation and with
    :func:`cellrt.reference.paste_masks_ref.paste_masks_ref`.
    """
    height, width = _image_shape(image_shape)
    threshold = real_number(_OP, "threshold", threshold)
    if not (0.0 <= threshold <= 1.0):  # also rejects NaN
        raise ValueError(f"{_OP}: threshold must be in [0, 1], got {threshold}")
    if is_cuda_tensor(masks):
        _backend.resolve_backend(_OP, backend, True)
        return _paste_cuda(masks, boxes, scores, height, width, threshold)
    _backend.resolve_backend(_OP, backend, False)
    m = to_numpy(masks, _OP, "masks", dtypes=_FLOATS, ndim=(3, 4))
    m = _squeeze_channel(m, m.shape)
    if m.dtype == np.float16:
        m = m.astype(np.float32)
    b = to_numpy(boxes, _OP, "boxes", dtypes=_FLOATS, cast=np.float64)
    s = to_numpy(scores, _OP, "scores", dtypes=_FLOATS, cast=np.float32)
    return like(_core.paste_masks(m, b, s, height, width, threshold), masks)


def _image_shape(image_shape) -> tuple[int, int]:
    try:
        dims = tuple(image_shape)
    except TypeError:
        raise TypeError(f"{_OP}: image_shape must be a (H, W) tuple of ints, "
                        f"got {type(image_shape).__name__}") from None
    if len(dims) != 2 or not all(is_int(d) for d in dims):
        raise ValueError(f"{_OP}: image_shape must be a (H, W) tuple of ints, got {image_shape!r}")
    if dims[0] < 0 or dims[1] < 0:
        raise ValueError(f"{_OP}: image_shape must be non-negative, got {dims}")
    return int(dims[0]), int(dims[1])


def _squeeze_channel(m, shape):
    """(R, 1, mh, mw) -> (R, mh, mw), the layout Mask R-CNN heads emit."""
    if len(shape) == 4:
        if shape[1] != 1:
            raise ValueError(f"{_OP}: 4-D masks must have shape (R, 1, mask_h, mask_w), "
                             f"got {tuple(shape)}")
        return m.reshape(shape[0], shape[2], shape[3])
    return m


def _paste_cuda(masks, boxes, scores, height, width, threshold):
    import torch

    if masks.dtype not in (torch.float32, torch.float16):
        raise TypeError(f"{_OP}: CUDA masks must be float32 or float16, got {masks.dtype}")
    if masks.dim() not in (3, 4):
        raise ValueError(f"{_OP}: masks must be 3-D or 4-D, got shape {tuple(masks.shape)}")
    m = _squeeze_channel(masks.detach(), masks.shape).contiguous()
    r, mh, mw = m.shape
    cuda_device(_OP, (("masks", masks), ("boxes", boxes), ("scores", scores)))
    for name, x, shape in (("boxes", boxes, (r, 4)), ("scores", scores, (r,))):
        if not x.dtype.is_floating_point:
            raise TypeError(f"{_OP}: {name} must be a float tensor, got {x.dtype}")
        if tuple(x.shape) != shape:
            raise ValueError(f"{_OP}: {name} must have shape {shape}, got {tuple(x.shape)}")
    b = boxes.detach().to(torch.float32).contiguous()
    s = scores.detach().to(torch.float32).contiguous()
    keys = torch.empty(height * width, dtype=torch.int64, device=m.device)
    labels = torch.empty((height, width), dtype=torch.int32, device=m.device)
    with cuda_launch(m.device) as (cuda, stream):
        cuda.paste_masks(
            m.data_ptr(), b.data_ptr(), s.data_ptr(), keys.data_ptr(), labels.data_ptr(),
            r, mh, mw, height, width, threshold, dtype_name(m), stream)
    return labels
