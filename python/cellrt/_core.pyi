"""Type stubs of ``cellrt._core``, the compiled CPU kernels (``csrc/bind/*_bind.cpp``).

These are the raw bindings. The wrappers in :mod:`cellrt.ops` validate and normalise their
inputs and document shapes, dtypes and conventions; call those. Parameter names are the
``py::arg`` names, so every argument can be passed by keyword. ``NDArray`` parameters must be
NumPy arrays (of the dtypes the docstring names); ``ArrayLike`` ones are converted to the stated
dtype, C-contiguous. User errors raise ValueError or TypeError naming the op.
"""

from types import ModuleType
from typing import Any, Sequence, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

# ---- module -------------------------------------------------------------------------------------

def build_info() -> dict[str, Any]:
    """Compile-time facts of the CPU core (compiler, C++ standard, SIMD level, OpenMP, CUDA)."""

def get_num_threads() -> int:
    """Threads the CPU kernels use (OpenMP)."""

def set_num_threads(n: int) -> None:
    """Set the CPU kernels' thread count (n >= 1)."""

# ---- attention_fusion ---------------------------------------------------------------------------

def attention_fusion_forward(
    features: NDArray[Any], mask_logits: NDArray[Any], weight: NDArray[Any], bias: NDArray[Any]
) -> NDArray[Any]:
    """features * (1 + sigmoid(weight[c] * mask_logits + bias[c])); float32 or float64."""

def attention_fusion_backward(
    grad_out: NDArray[Any],
    features: NDArray[Any],
    mask_logits: NDArray[Any],
    weight: NDArray[Any],
    bias: NDArray[Any],
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Gradients (features, mask_logits, weight, bias) of attention_fusion_forward."""

# ---- boundary_votes -----------------------------------------------------------------------------

def boundary_votes(dist: ArrayLike, mask: ArrayLike | None = None) -> NDArray[np.int32]:
    """int32 (H, W) count of centre votes from float32 (4, H, W) boundary distances; mask uint8."""

# ---- label family -------------------------------------------------------------------------------

def label(binary: ArrayLike, connectivity: int) -> tuple[NDArray[np.int32], int]:
    """Connected components of a uint8 (H, W) mask -> (int32 labels in raster order, count)."""

def relabel_sequential(labels: NDArray[Any]) -> tuple[NDArray[Any], int]:
    """Renumber positive values to 1..N in increasing order -> (labels, N); int32 or int64."""

def remove_small_objects(labels: NDArray[Any], min_size: int) -> NDArray[Any]:
    """Zero instances with fewer than min_size pixels (no renumbering); int32 or int64."""

def fill_holes(labels: NDArray[Any]) -> NDArray[Any]:
    """Fill background components enclosed by a single instance with its label."""

# ---- nms ----------------------------------------------------------------------------------------

def nms(boxes: NDArray[Any], scores: NDArray[Any], iou_threshold: float) -> NDArray[np.int64]:
    """Greedy NMS (torchvision semantics); boxes (N, 4) float32/float64 x1, y1, x2, y2, scores
    (N,) float64. Returns kept indices, descending score."""

def batched_nms(
    boxes: NDArray[Any], scores: NDArray[Any], idxs: NDArray[Any], iou_threshold: float
) -> NDArray[np.int64]:
    """Per-category greedy NMS; idxs (N,) int64 categories. Returns kept indices, descending
    score."""

def nms_reduce_mask(mask: ArrayLike, n: int) -> NDArray[np.int64]:
    """Host reduction of the CUDA suppression mask (n x ceil(n/64) uint64, rows in score order)
    to the kept positions in that order."""

def nms_mask_words(n: int) -> int:
    """Number of uint64 words of the CUDA suppression mask for n boxes."""

# ---- paste_masks --------------------------------------------------------------------------------

def paste_masks(
    masks: NDArray[Any],
    boxes: NDArray[np.float64],
    scores: NDArray[np.float32],
    image_h: int,
    image_w: int,
    threshold: float,
) -> NDArray[np.int32]:
    """int32 (image_h, image_w) labels from (R, mh, mw) float32/float64 masks, float64 boxes,
    float32 scores."""

# ---- regionprops --------------------------------------------------------------------------------

def regionprops(
    labels: NDArray[Any], intensity: NDArray[Any] | None = None, classes: ArrayLike | None = None
) -> tuple[
    NDArray[Any],
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.float64] | None,
    NDArray[np.int64] | None,
]:
    """Per-label (label, area, bbox, centroid, mean_intensity | None, majority class | None)."""

def regionprops_shape(
    labels: NDArray[Any], present: ArrayLike, bbox: ArrayLike, area: ArrayLike
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.int64],
]:
    """(perimeter, eccentricity, major, minor, orientation, convex_area) per present label."""

# ---- roi_align ----------------------------------------------------------------------------------

def roi_align_forward(
    input: NDArray[Any],
    rois: NDArray[Any],
    pooled_h: int,
    pooled_w: int,
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
    channels_last: bool = False,
) -> NDArray[Any]:
    """RoIAlign forward. input: (N, C, H, W), or (N, H, W, C) when channels_last; rois: (K, 5)
    of input's dtype (float32 or float64). Returns (K, C, pooled_h, pooled_w)."""

def roi_align_backward(
    grad_output: NDArray[Any],
    rois: NDArray[Any],
    batch: int,
    channels: int,
    height: int,
    width: int,
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
) -> NDArray[Any]:
    """RoIAlign backward: gradient w.r.t. the (batch, channels, height, width) input."""

def multilevel_roi_align_forward(
    features: Sequence[NDArray[Any]],
    rois: NDArray[Any],
    pooled_h: int,
    pooled_w: int,
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float,
    canonical_level: float,
    aligned: bool,
) -> NDArray[Any]:
    """FPN multi-level RoIAlign: each RoI pools from the level its box size selects."""

def multilevel_roi_align_backward(
    grad_output: NDArray[Any],
    rois: NDArray[Any],
    batch: int,
    channels: int,
    level_sizes: Sequence[tuple[int, int]],
    scales: Sequence[float],
    sampling_ratio: int,
    canonical_size: float,
    canonical_level: float,
    aligned: bool,
) -> list[NDArray[Any]]:
    """Backward of multilevel_roi_align_forward: one gradient per level, (N, C, H_l, W_l)."""

def multilevel_roi_align_levels(
    rois: NDArray[Any], scales: Sequence[float], canonical_size: float, canonical_level: float
) -> NDArray[np.int64]:
    """FPN level index of each RoI (-1: none, for boxes of negative or NaN area)."""

def multilevel_roi_align_k_min(
    scales: Sequence[float], canonical_size: float, canonical_level: float
) -> int:
    """Validate the FPN attributes and return k_min = -log2(scales[0])."""

# ---- watershed ----------------------------------------------------------------------------------

def watershed(
    image: NDArray[Any], markers: ArrayLike, mask: ArrayLike | None, connectivity: int
) -> NDArray[np.int32]:
    """Marker-controlled watershed of a 2-D image (priority flood, scikit-image order); image
    uint8/uint16/float32/float64 (H, W), markers int32 (H, W), mask bool (H, W) or None."""

# ---- testing ------------------------------------------------------------------------------------

class _Testing(ModuleType):
    """``cellrt._core.testing``: CPU emulation of device-side step functions, for the tests (the
    GPU's element functions run in a chosen order). Not a public API."""

    @staticmethod
    def attention_fusion_forward_elements(
        features: NDArray[Any], mask_logits: NDArray[Any], weight: NDArray[Any], bias: NDArray[Any]
    ) -> NDArray[Any]:
        """attention_fusion_forward through one element call per output (the GPU path)."""

    @staticmethod
    def attention_fusion_backward_elements(
        grad_out: NDArray[Any],
        features: NDArray[Any],
        mask_logits: NDArray[Any],
        weight: NDArray[Any],
        bias: NDArray[Any],
    ) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
        """attention_fusion_backward through the GPU's element decomposition."""

    # `order` is required although it follows a default: pass all three positionally, or order
    # by keyword.
    @overload
    @staticmethod
    def boundary_votes_emulate(
        dist: ArrayLike, mask: ArrayLike | None, order: ArrayLike
    ) -> NDArray[np.int32]: ...
    @overload
    @staticmethod
    def boundary_votes_emulate(
        dist: ArrayLike, mask: ArrayLike | None = None, *, order: ArrayLike
    ) -> NDArray[np.int32]: ...

    @staticmethod
    def label_emulate_device(
        binary: ArrayLike, connectivity: int, order: ArrayLike, num_threads: int = 1
    ) -> NDArray[np.int32]:
        """GPU labelling steps run on the CPU, each over pixels in the given order."""

    @staticmethod
    def label_histogram(
        labels: NDArray[Any], bins: int, order: ArrayLike | None = None
    ) -> NDArray[np.int64]:
        """Per-value pixel counts: CPU path, or the GPU atomic element over `order` if given."""

    @staticmethod
    def fill_holes_emulate(labels: NDArray[Any], order: ArrayLike) -> NDArray[Any]:
        """fill_holes with the owner step run over pixels in the given order."""

    @staticmethod
    def nms_mask_emulated(
        boxes: NDArray[Any],
        scores: NDArray[Any],
        idxs: NDArray[Any] | None,
        iou_threshold: float,
        order: str,
        seed: int = 0,
    ) -> NDArray[np.int64]:
        """CPU emulation of the CUDA NMS chain (sort, mask kernel in the given work-unit order:
        'forward', 'reversed' or 'shuffled', host reduction). Returns kept indices."""

    @staticmethod
    def nms_mask_launch_config(n: int, max_blocks: int = 65535) -> dict[str, int]:
        """Launch geometry and workspace of the mask kernel."""

    @staticmethod
    def paste_masks_emulate_device(
        masks: NDArray[Any],
        boxes: NDArray[np.float64],
        scores: NDArray[np.float32],
        image_h: int,
        image_w: int,
        threshold: float,
        order: str,
        seed: int = 0,
        parallel: bool = False,
    ) -> NDArray[np.int32]:
        """paste_masks through the CUDA algorithm's steps (atomic key max) in the given order."""

    # `order` is required although it follows two defaults: pass all four positionally, or
    # order by keyword.
    @overload
    @staticmethod
    def regionprops_emulate(
        labels: NDArray[Any],
        intensity: NDArray[Any] | None,
        classes: ArrayLike | None,
        order: ArrayLike,
    ) -> tuple[Any, ...]: ...
    @overload
    @staticmethod
    def regionprops_emulate(
        labels: NDArray[Any],
        intensity: NDArray[Any] | None = None,
        classes: ArrayLike | None = None,
        *,
        order: ArrayLike,
    ) -> tuple[Any, ...]: ...
    @staticmethod
    def regionprops_shape_emulate(
        labels: NDArray[Any], present: ArrayLike, bbox: ArrayLike, area: ArrayLike,
        order: ArrayLike,
    ) -> tuple[Any, ...]:
        """regionprops_shape with the GPU's atomic per-pixel element run in `order`."""
    @staticmethod
    def roi_align_forward_elements(
        input: NDArray[Any],
        rois: NDArray[Any],
        pooled_h: int,
        pooled_w: int,
        spatial_scale: float,
        sampling_ratio: int,
        aligned: bool,
    ) -> NDArray[Any]:
        """RoIAlign forward through the element function (the loop the CUDA kernel runs)."""

    @staticmethod
    def roi_align_backward_elements(
        grad_output: NDArray[Any],
        rois: NDArray[Any],
        batch: int,
        channels: int,
        height: int,
        width: int,
        spatial_scale: float,
        sampling_ratio: int,
        aligned: bool,
        order: ArrayLike | None = None,
    ) -> NDArray[Any]:
        """RoIAlign backward through the atomic-scatter element function: order=None runs all
        elements in an OpenMP loop; an index permutation runs them one by one in that order."""

    @staticmethod
    def watershed_emulate(
        levels: ArrayLike,
        markers: ArrayLike,
        mask: ArrayLike | None,
        connectivity: int,
        order: str,
        seed: int = 0,
    ) -> tuple[NDArray[np.int32], NDArray[np.uint64], NDArray[np.int64]]:
        """Run the GPU watershed steps on the CPU, visiting pixels in 'forward', 'reversed' or
        'shuffled' order. Returns (labels int32, state uint64, parent int64)."""

testing: _Testing
