"""Per-instance measurements of a label image: the rows of the object table.

Spec
----
``regionprops(labels, intensity=None, classes=None)``

labels : ``(H, W)`` integer label image, values >= 0; 0 is background. Every positive value is
    one instance (its pixels need not be connected). Any integer dtype.
intensity : optional ``(H, W)`` or ``(H, W, C)`` image (channel-last). uint8, uint16, float32 and
    float64 are read as they are; other integer and bool dtypes are converted to float64.
classes : optional ``(H, W)`` integer class map, values >= 0 (e.g. a semantic head's argmax).

Returns a dict of arrays with one row per label present (labels > 0 only), sorted by label:

=================  ==========  ===========================================================
key                shape       meaning
=================  ==========  ===========================================================
``label``          (N,)        label value, dtype of ``labels``
``area``           (N,)        pixel count, int64
``bbox``           (N, 4)      ``y0, x0, y1, x1``, int64; ``y1``/``x1`` are one past the last
                               row/column (half-open, as in scikit-image)
``centroid``       (N, 2)      mean ``y, x`` of the pixels, float64 (pixel centres at integers)
``mean_intensity`` (N, C)      mean of each channel over the pixels, float64 (C = 1 for a 2-D
                               intensity); only if ``intensity`` is given
``class``          (N,)        most frequent value of ``classes`` over the pixels, int64; ties
                               go to the smallest class id; only if ``classes`` is given
=================  ==========  ===========================================================

With ``shape=True`` also (float64 unless noted; scikit-image's definitions, see
kernels/include/cellrt/kernels/regionprops/regionprops_shape.h):

=======================  ==================================================================
``perimeter``            skimage ``perimeter`` (4-neighbourhood border, weighted steps)
``eccentricity``         of the ellipse with the same second moments, 0 (circle) .. 1
``major_axis_length``    4 sqrt(largest eigenvalue of the inertia tensor)
``minor_axis_length``    4 sqrt(smallest eigenvalue)
``orientation``          angle (radians) between the row axis and the major axis
``area_convex``          pixels in the convex hull of the pixels (int64)
``solidity``             ``area / area_convex``
=======================  ==================================================================

Same numbers as ``skimage.measure.regionprops_table(labels, intensity, properties=("label",
"area", "bbox", "centroid", "intensity_mean"))``. Coordinates and counts are exact (integer sums);
means are sums in float64 divided by the area, so they agree with a float64 reference to about
1e-12 relative (scikit-image averages float32 images in float32, so agreement with it there is
at float32 precision). NumPy in -> NumPy out; torch in -> dict of torch tensors (CUDA tensors run
on the GPU, where every pixel is added with atomics; the CPU walks runs of equal labels).
No ONNX equivalent.
"""

from __future__ import annotations

import numpy as np

from cellrt import _backend, _core
from cellrt.ops._arrays import cuda_launch, is_cuda_tensor, is_torch, to_numpy
from cellrt.ops.label import _cuda_labels, _label_array

__all__ = ["regionprops"]

_INTENSITY_NATIVE = (np.uint8, np.uint16, np.float32, np.float64)


def _intensity_array(op: str, intensity, shape) -> np.ndarray:
    arr = to_numpy(intensity, op, "intensity", ndim=(2, 3))
    if arr.shape[:2] != shape:
        h, w = shape
        raise ValueError(
            f"{op}: intensity must have shape ({h}, {w}) or ({h}, {w}, C), got {arr.shape}"
        )
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: intensity must be a bool, integer or float array, got {arr.dtype}")
    if arr.dtype not in _INTENSITY_NATIVE:
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _classes_array(op: str, classes, shape) -> np.ndarray:
    arr = to_numpy(classes, op, "classes", ndim=2)
    if arr.shape != shape:
        raise ValueError(f"{op}: classes must have shape {shape}, got {arr.shape}")
    if arr.dtype.kind not in "biu":
        raise TypeError(f"{op}: classes must have an integer dtype, got {arr.dtype}")
    if arr.size and arr.dtype.itemsize >= 4 and arr.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{op}: classes must be < 2**31, got maximum {arr.max()}")
    return np.ascontiguousarray(arr.astype(np.int32, copy=False))


SHAPE_KEYS = ("perimeter", "eccentricity", "major_axis_length", "minor_axis_length",
              "orientation", "area_convex")


def _dense(lab: np.ndarray) -> np.ndarray:
    """Labels renumbered 1..N in value order when the values are sparse (a few huge ids), so
    the shape kernel's lookup table stays small; else `lab` itself."""
    if lab.size == 0 or int(lab.max()) <= 4 * lab.size + 65536:
        return lab
    values, inverse = np.unique(lab, return_inverse=True)
    dense = inverse.reshape(lab.shape).astype(np.int64)
    return dense if values[0] == 0 else dense + 1


def _shape_cpu(lab: np.ndarray, out: dict) -> None:
    dense = _dense(lab)
    present = out["label"].astype(np.int64) if dense is lab else \
        np.arange(1, len(out["label"]) + 1, dtype=np.int64)
    values = _core.regionprops_shape(dense, present, out["bbox"], out["area"])
    out.update(zip(SHAPE_KEYS, values))
    out["solidity"] = out["area"] / np.maximum(out["area_convex"], 1)


def regionprops(labels, intensity=None, classes=None, *, shape=False, backend="auto"):
    """Area, bounding box, centroid, mean intensity and majority class of every instance.

    Parameters
    ----------
    labels : numpy.ndarray or torch.Tensor, shape (H, W), integer dtype, values >= 0
        Label image; 0 is background.
    intensity : numpy.ndarray or torch.Tensor, shape (H, W) or (H, W, C), optional
        Image whose per-channel mean is measured over each instance.
    classes : numpy.ndarray or torch.Tensor, shape (H, W), integer dtype, values >= 0, optional
        Per-pixel class ids voted over each instance.
    shape : bool, default False
        Also measure perimeter, eccentricity, axis lengths, orientation, convex area and
        solidity (scikit-image's definitions).
    backend : {"auto", "cpu", "cuda"}, default "auto"

    Returns
    -------
    dict of numpy.ndarray or torch.Tensor
        Keys ``label, area, bbox, centroid`` and, when given the inputs, ``mean_intensity`` and
        ``class`` (and the shape keys); one row per label present, sorted by label (see the
        module docstring).

    Raises
    ------
    ValueError
        If an array has the wrong rank or shape, or labels or classes hold negative values.
    TypeError
        If labels or classes are not integer arrays, or intensity is not numeric.
    """
    op = "regionprops"
    if _backend.resolve_backend(op, backend, is_cuda_tensor(labels)) == "cuda":
        return _regionprops_cuda(labels, intensity, classes, shape)
    lab, lab_dtype = _label_array(op, labels, ndim=2)
    inten = None if intensity is None else _intensity_array(op, intensity, lab.shape)
    cls = None if classes is None else _classes_array(op, classes, lab.shape)
    label, area, bbox, centroid, mean, majority = _core.regionprops(lab, inten, cls)
    out = {"label": label.astype(lab_dtype, copy=False), "area": area, "bbox": bbox,
           "centroid": centroid}
    if mean is not None:
        out["mean_intensity"] = mean
    if majority is not None:
        out["class"] = majority
    if shape:
        _shape_cpu(lab, out)
    if is_torch(labels):
        import torch

        out = {k: torch.from_numpy(v) for k, v in out.items()}
    return out


def _regionprops_cuda(labels, intensity, classes, shape=False):
    import torch

    op = "regionprops"
    if labels.dim() != 2:
        raise ValueError(f"{op}: labels must be 2-D, got shape {tuple(labels.shape)}")
    dev = labels.device
    with cuda_launch(dev) as (cuda, stream):
        lab = _cuda_labels(op, labels)
        h, w = lab.shape
        inten = None
        if intensity is not None:
            if intensity.shape[:2] != lab.shape or intensity.dim() not in (2, 3):
                raise ValueError(f"{op}: intensity must have shape ({h}, {w}) or ({h}, {w}, C), "
                                 f"got {tuple(intensity.shape)}")
            inten = intensity.to(device=dev, dtype=torch.float32).reshape(h, w, -1).contiguous()
        cls, num_classes = None, 0
        if classes is not None:
            if tuple(classes.shape) != (h, w):
                raise ValueError(
                    f"{op}: classes must have shape {(h, w)}, got {tuple(classes.shape)}"
                )
            cls = classes.to(device=dev, dtype=torch.int32).contiguous()
            if cls.numel():
                lowest = int(cls.min())
                if lowest < 0:
                    raise ValueError(f"{op}: classes must be non-negative, got minimum {lowest}")
                num_classes = int(cls.max()) + 1
        channels = 0 if inten is None else inten.shape[2]
        values = None
        bins = int(lab.max()) + 1 if lab.numel() else 1
        if bins > lab.numel() + 65536:  # sparse values: tables by dense id, mapped back below
            values, inv = torch.unique(lab, return_inverse=True)
            if values[0] != 0:
                values = torch.cat([values.new_zeros(1), values])
                inv = inv + 1
            lab, bins = inv.to(torch.int32).reshape(h, w).contiguous(), values.numel()
        i64 = dict(dtype=torch.int64, device=dev)  # rp_u64 tables; counts never reach 2**63
        count, sum_y, sum_x = (torch.empty(bins, **i64) for _ in range(3))
        class_count = torch.empty((bins, num_classes), **i64)
        bbox_acc = torch.empty((bins, 4), dtype=torch.int32, device=dev)
        sum_int = torch.empty((bins, channels), dtype=torch.float64, device=dev)
        acc = (count.data_ptr(), sum_y.data_ptr(), sum_x.data_ptr(), bbox_acc.data_ptr(),
               sum_int.data_ptr(), class_count.data_ptr())
        dims = (h, w, channels, num_classes, bins)
        cuda.regionprops_init(*dims, *acc, stream)
        if lab.numel():
            cuda.regionprops_accumulate(*dims, lab.data_ptr(),
                                        0 if inten is None else inten.data_ptr(),
                                        0 if cls is None else cls.data_ptr(), *acc, stream)
        present = torch.nonzero(count > 0).flatten()
        n = present.numel()
        area = torch.empty(n, **i64)
        bbox = torch.empty((n, 4), **i64)
        centroid = torch.empty((n, 2), dtype=torch.float64, device=dev)
        mean = torch.empty((n, channels), dtype=torch.float64, device=dev)
        majority = torch.empty(n, **i64)
        if n:
            cuda.regionprops_finalize(*dims, *acc, present.data_ptr(), n, area.data_ptr(),
                                      bbox.data_ptr(), centroid.data_ptr(), mean.data_ptr(),
                                      majority.data_ptr(), stream)
        label = present if values is None else values[present]
    out = {"label": label.to(labels.dtype), "area": area, "bbox": bbox, "centroid": centroid}
    if inten is not None:
        out["mean_intensity"] = mean
    if cls is not None:
        out["class"] = majority
    if shape:
        _shape_cuda(lab, present, out)  # lab and present in the kernel's label space
    return out


def _shape_cuda(lab, present, out: dict) -> None:
    """The shape keys on the GPU: lab int32 on the device, present its label values (bins)."""
    import torch

    dev = lab.device
    n = present.numel()
    i64 = dict(dtype=torch.int64, device=dev)
    bins = int(lab.max()) + 1 if lab.numel() else 1
    lut = torch.full((bins,), -1, **i64)
    lut[present] = torch.arange(n, **i64)
    heights = out["bbox"][:, 2] - out["bbox"][:, 0]
    offset = torch.zeros(n + 1, **i64)
    offset[1:] = torch.cumsum(heights, 0)
    rows = int(offset[-1]) if n else 0
    moments = torch.empty((n, 5), **i64)
    perim = torch.empty((n, 3), **i64)
    row_min = torch.empty(rows, dtype=torch.int32, device=dev)
    row_max = torch.empty(rows, dtype=torch.int32, device=dev)
    hull = torch.empty(16 * rows + 8 * n, **i64)
    res = [torch.empty(n, dtype=torch.float64, device=dev) for _ in range(5)]
    convex = torch.empty(n, **i64)
    bbox, area = out["bbox"].contiguous(), out["area"].contiguous()
    if n:
        with cuda_launch(dev) as (cuda, stream):
            cuda.regionprops_shape(lab.shape[0], lab.shape[1], n, lab.data_ptr(),
                                   lut.data_ptr(), bbox.data_ptr(), area.data_ptr(),
                                   offset.data_ptr(), moments.data_ptr(), perim.data_ptr(),
                                   row_min.data_ptr(), row_max.data_ptr(), hull.data_ptr(),
                                   *(r.data_ptr() for r in res), convex.data_ptr(), stream)
    out.update(zip(SHAPE_KEYS, [*res, convex]))
    out["solidity"] = area.to(torch.float64) / convex.clamp(min=1).to(torch.float64)
