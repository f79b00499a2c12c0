"""Input normalisation and CUDA dispatch shared by every op wrapper.

Ops accept NumPy arrays or torch tensors and return the same kind they were given. torch is
imported only on the CUDA paths: a tensor is recognised by its type's module, so the core package
works without it.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Any, Iterable, Iterator

import numpy as np

from cellrt import _backend


def is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def is_cuda_tensor(x: Any) -> bool:
    return is_torch(x) and x.device.type == "cuda"


def dtype_name(x: Any) -> str:
    """``"float32"`` for a float32 NumPy array or torch tensor: the dtype names _cuda takes."""
    return str(x.dtype).replace("torch.", "")


# Dtypes accepted for integer label images and masks (bool included; a mask means nonzero).
LABEL_OR_MASK_DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
                        np.int64, np.uint64)


def is_int(x: Any) -> bool:
    """An integer scalar (Python or NumPy), but not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def real_number(op: str, arg: str, x: Any) -> float:
    """``x`` as a float; TypeError unless it is a real scalar (bools are not accepted)."""
    if not isinstance(x, numbers.Real) or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{op}: {arg} must be a real number, got {type(x).__name__}")
    return float(x)


def cuda_device(op: str, named: Iterable[tuple[str, Any]]):
    """The device shared by the named inputs of a CUDA call (None entries are optional inputs
    that were not given). ValueError if one is not a CUDA tensor or they are on different GPUs;
    the first input names the device the others must be on."""
    first, device = None, None
    for name, x in named:
        if x is None:
            continue
        if not is_cuda_tensor(x):
            where = f"on {x.device}" if is_torch(x) else f"a {type(x).__name__}"
            raise ValueError(f"{op}: {name} must be a CUDA tensor like the other inputs, "
                             f"got {where}")
        if device is None:
            first, device = name, x.device
        elif x.device != device:
            raise ValueError(f"{op}: {name} is on {x.device}, {first} on {device}")
    return device


@contextlib.contextmanager
def cuda_launch(device) -> Iterator[tuple[Any, int]]:
    """Make ``device`` current and yield ``(cellrt._cuda, handle of its current torch stream)``.

    The kernels run on the stream torch is using, ordered with the torch ops around them; every
    buffer passed by ``data_ptr()`` must stay referenced until the call returns.
    """
    import torch

    with torch.cuda.device(device):
        yield _backend.cuda_module(), torch.cuda.current_stream(device).cuda_stream


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
