"""Input normalisation shared by every op wrapper.

Ops accept NumPy arrays or torch tensors and return the same kind they were given. torch is never
imported here: a tensor is recognised by its type's module, so the core package works without it.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np


def is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def is_cuda_tensor(x: Any) -> bool:
    return is_torch(x) and x.device.type == "cuda"


def _dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "")


def to_numpy(
    x: Any,
    op: str,
    arg: str,
    *,
    dtypes: Iterable[Any] | None = None,
    cast: Any = None,
    ndim: int | Iterable[int] | None = None,
) -> np.ndarray:
    """Return ``x`` as a C-contiguous host ndarray, validating kind, dtype and rank.

    dtypes: accepted NumPy dtypes (after torch->NumPy conversion); TypeError otherwise.
    cast:   dtype the kernel computes in; the result is cast to it (a copy only when needed).
    ndim:   accepted rank(s); ValueError otherwise.
    """
    if is_torch(x):
        if x.device.type != "cpu":
            raise ValueError(f"{op}: {arg} is on {x.device}; this call runs on the CPU")
        x = x.detach().resolve_conj().resolve_neg().numpy()
    elif not isinstance(x, np.ndarray):
        if isinstance(x, (list, tuple)) or np.isscalar(x):
            x = np.asarray(x)
        else:
            raise TypeError(
                f"{op}: {arg} must be a numpy.ndarray or torch.Tensor, got {type(x).__name__}"
            )
    if dtypes is not None:
        allowed = tuple(np.dtype(d) for d in dtypes)
        if x.dtype not in allowed:
            names = ", ".join(str(d) for d in allowed)
            raise TypeError(f"{op}: {arg} must have dtype in ({names}), got {x.dtype}")
    if ndim is not None:
        ranks = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in ranks:
            want = " or ".join(f"{r}-D" for r in ranks)
            raise ValueError(f"{op}: {arg} must be {want}, got shape {tuple(x.shape)}")
    if cast is not None:
        x = x.astype(cast, copy=False)
    return np.ascontiguousarray(x)


def like(result: np.ndarray, template: Any):
    """Return ``result`` as the same kind of array as ``template`` (torch in -> torch out)."""
    if is_torch(template):
        import torch

        return torch.from_numpy(np.ascontiguousarray(result))
    return result
