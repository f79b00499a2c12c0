"""Reading per-instance classes from the forms users have them in.

A class spec for a label image is one of
* a dict ``{instance id: class}`` (every instance of the image must be a key);
* a 1-D integer array ``lut`` with ``lut[id]`` the class of instance ``id`` (length > max id);
* a 2-D integer class map of the label image's shape (a "type map", as in CoNIC/HoVer-Net):
  an instance's class is the most frequent class among its pixels (ties: the smallest class).
  CoNIC masks instances pixel-wise by the type map instead; the two agree whenever every
  instance carries a single class, which is how such maps are made.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _from_dict(spec: dict, ids: np.ndarray, func: str, arg: str) -> np.ndarray:
    missing = [int(i) for i in ids if int(i) not in spec]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise ValueError(
            f"{func}: {arg} must give a class for every instance; missing ids {shown}"
        )
    try:
        return np.array([spec[int(i)] for i in ids], dtype=np.int64).reshape(ids.size)
    except (TypeError, ValueError):
        raise TypeError(f"{func}: {arg} values must be integer classes") from None


def _majority(labels: np.ndarray, class_map: np.ndarray, ids: np.ndarray) -> np.ndarray:
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    fg = labels.ravel() > 0
    inst = np.searchsorted(ids, labels.ravel()[fg]).astype(np.int64)
    cls_ids, cls = np.unique(class_map.ravel()[fg], return_inverse=True)
    pairs, votes = np.unique(inst * np.int64(cls_ids.size) + cls, return_counts=True)
    inst_of, cls_of = np.divmod(pairs, np.int64(cls_ids.size))
    # Per instance: most votes first, then the smallest class (cls_ids is sorted).
    order = np.lexsort((cls_of, -votes, inst_of))
    first = np.r_[True, inst_of[order][1:] != inst_of[order][:-1]]
    winner = np.empty(ids.size, dtype=np.int64)
    winner[inst_of[order][first]] = cls_ids[cls_of[order][first]]
    return winner


def instance_classes(
    spec: Any, labels: np.ndarray, ids: np.ndarray, func: str, arg: str
) -> np.ndarray:
    """Class of each instance in ``ids`` (sorted ids present in ``labels``), as int64."""
    if isinstance(spec, dict):
        return _from_dict(spec, ids, func, arg)
    arr = np.asarray(spec)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{func}: {arg} must be a dict {{id: class}} or an integer array, "
            f"got {type(spec).__name__} of dtype {arr.dtype}"
        )
    if arr.ndim == 1:
        need = int(ids.max()) + 1 if ids.size else 0
        if arr.size < need:
            raise ValueError(
                f"{func}: {arg} as a 1-D lookup table must have length > max instance id "
                f"({need - 1}), got length {arr.size}"
            )
        return arr[ids].astype(np.int64)
    if arr.ndim == 2:
        if arr.shape != labels.shape:
            raise ValueError(
                f"{func}: {arg} as a class map must have the label image's shape "
                f"{tuple(labels.shape)}, got {tuple(arr.shape)}"
            )
        return _majority(labels, arr, ids)
    raise ValueError(
        f"{func}: {arg} must be a dict, a 1-D lookup table or a 2-D class map, "
        f"got shape {tuple(arr.shape)}"
    )
