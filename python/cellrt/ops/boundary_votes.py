"""Centre votes of a boundary-regression map (RepSNet-style marker detection).

Spec
----
Inputs
    ``dist``: (4, H, W) real array: each pixel's distance to its nucleus boundary going left,
    right, up and down, in pixels, with RepSNet's convention that a boundary pixel has distance 1
    (so the pixel's horizontal run covers columns ``x - l + 1 .. x + r - 1``). Computed in
    float32.
    ``mask``: optional (H, W) bool (or integer, nonzero = votes): the pixels that vote, normally
    the predicted foreground; None means every pixel votes.
Output
    (H, W) int32: how many pixels voted for each pixel. Pixel (y, x) votes for the midpoint of
    its two runs, ``(y + (d - u) / 2, x + (r - l) / 2)``, rounded to the nearest pixel with halves
    going up (``floor(v + 0.5)``) and clamped into the image. A NaN distance casts no vote; an
    infinite or huge one votes at the image border.
ONNX equivalent
    none (a scatter-add).
Tolerance
    exact (integer counts). H * W must be below 2**31.

Why
---
Every pixel of a convex nucleus votes into a small cluster around that nucleus's centre, wherever
the pixel lies, so touching nuclei give one vote peak each; smoothed and thresholded, the peaks
are the markers of the watershed that grows the instances (``cellrt.families.boundary.postprocess``).
"""

from __future__ import annotations

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import (LABEL_OR_MASK_DTYPES, cuda_device, cuda_launch,
                               is_cuda_tensor, like, to_numpy)

_OP = "boundary_votes"
_DIST_DTYPES = (np.float16, np.float32, np.float64)


def boundary_votes(dist, mask=None, *, backend: str = "auto"):
    """Count, for every pixel, the pixels whose boundary distances put their centre there.

    Parameters
    ----------
    dist : numpy.ndarray or torch.Tensor, shape (4, H, W)
        Distances to the boundary going left, right, up, down (pixels; boundary pixels 1).
    mask : numpy.ndarray or torch.Tensor, shape (H, W), optional
        Nonzero where pixels vote; None means every pixel votes.
    backend : {"auto", "cpu", "cuda"}
        "auto" runs on the device of the inputs (CUDA tensors -> GPU).

    Returns
    -------
    numpy.ndarray or torch.Tensor
        int32 vote counts of shape (H, W), the same kind of array as ``dist``.

    Raises
    ------
    ValueError
        dist not (4, H, W), mask of another shape, 2**31 pixels or more.
    TypeError
        Unsupported dtypes or argument kinds.
    """
    on_cuda = any(is_cuda_tensor(x) for x in (dist, mask) if x is not None)
    if _backend.resolve_backend(_OP, backend, on_cuda) == "cuda":
        return _boundary_votes_cuda(dist, mask)
    d = to_numpy(dist, _OP, "dist", dtypes=_DIST_DTYPES, cast=np.float32, ndim=3)
    if d.shape[0] != 4:
        raise ValueError(f"{_OP}: dist must have shape (4, H, W), got {tuple(d.shape)}")
    m = None
    if mask is not None:
        m = to_numpy(mask, _OP, "mask", dtypes=LABEL_OR_MASK_DTYPES, ndim=2)
        if m.shape != d.shape[1:]:
            raise ValueError(f"{_OP}: mask must have shape {tuple(d.shape[1:])}, "
                             f"got {tuple(m.shape)}")
        # A bool array already holds bytes 0/1: viewed, not copied (2 ms at 2048^2).
        m = m.view(np.uint8) if m.dtype == np.bool_ else np.ascontiguousarray(m != 0, np.uint8)
    return like(_core.boundary_votes(d, m), dist)


def _boundary_votes_cuda(dist, mask):
    """GPU path (one atomic vote per pixel, boundary_votes_element.h): torch CUDA tensors."""
    import torch

    cuda_device(_OP, (("dist", dist), ("mask", mask)))
    if dist.dim() != 3 or dist.shape[0] != 4:
        raise ValueError(f"{_OP}: dist must have shape (4, H, W), got {tuple(dist.shape)}")
    if not dist.is_floating_point():
        raise TypeError(f"{_OP}: dist must be floating point, got {dist.dtype}")
    h, w = int(dist.shape[1]), int(dist.shape[2])
    if mask is not None and tuple(mask.shape) != (h, w):
        raise ValueError(f"{_OP}: mask must have shape {(h, w)}, got {tuple(mask.shape)}")
    d = dist.to(torch.float32).contiguous()
    m = None if mask is None else (mask != 0).to(torch.uint8).contiguous()
    votes = torch.empty((h, w), dtype=torch.int32, device=dist.device)
    with cuda_launch(dist.device) as (cuda, stream):
        cuda.boundary_votes(dist=d.data_ptr(), mask=0 if m is None else m.data_ptr(), height=h,
                            width=w, votes=votes.data_ptr(), stream=stream)
    return votes


__all__ = ["boundary_votes"]
