"""Type stubs of ``cellrt._cuda``, the compiled CUDA launchers (``csrc/bind/*_cuda_bind.cpp``).

Built only where nvcc was found at build time; see ``cellrt._backend`` for why it may be absent
or unusable. These are the raw bindings: the wrappers in :mod:`cellrt.ops` validate torch CUDA
tensors, allocate every buffer and call these through ``cellrt.ops._arrays.cuda_launch``.

Conventions of every launcher: buffers are device addresses (``tensor.data_ptr()``, an ``int``;
0 for an optional buffer not given) of dense, C-contiguous tensors that the caller keeps alive;
``stream`` is the ``cudaStream_t`` handle to run on (``torch.cuda.current_stream().cuda_stream``);
``dtype`` names the element type as torch does (``"float32"``, ``"float16"``, ``"float64"``).
Work is queued asynchronously on ``stream`` (watershed synchronises it between rounds). Parameter
names are the ``py::arg`` names. Invalid sizes raise ValueError, a failed launch RuntimeError.
"""

from typing import Any

# ---- module -------------------------------------------------------------------------------------

def build_info() -> dict[str, Any]:
    """Compile-time facts of the CUDA module (CUDA version, architectures, driver version)."""

def device_status() -> tuple[int, str]:
    """(device_count, reason_if_none_usable); the reason is "" when a device is usable."""

def device_count() -> int:
    """Number of usable CUDA devices (0 without a driver or GPU)."""

# ---- attention_fusion ---------------------------------------------------------------------------

def attention_fusion_forward(
    features: int,
    mask_logits: int,
    weight: int,
    bias: int,
    out: int,
    rois: int,
    channels: int,
    height: int,
    width: int,
    dtype: str,
    stream: int,
) -> None:
    """Forward on device buffers (float32 or float16), on the given stream."""

def attention_fusion_backward(
    grad_out: int,
    features: int,
    mask_logits: int,
    weight: int,
    bias: int,
    grad_features: int,
    grad_mask: int,
    grad_weight: int,
    grad_bias: int,
    workspace: int,
    rois: int,
    channels: int,
    height: int,
    width: int,
    dtype: str,
    stream: int,
) -> None:
    """Backward on device buffers; workspace holds attention_fusion_backward_workspace_floats
    float32 elements."""

def attention_fusion_backward_workspace_floats(rois: int, channels: int) -> int:
    """float32 elements of the backward's device workspace."""

# ---- boundary_votes -----------------------------------------------------------------------------

def boundary_votes(dist: int, mask: int, height: int, width: int, votes: int, stream: int) -> None:
    """Centre votes (int32, zeroed here) from float32 (4, H, W) distances; mask 0 for none."""

# ---- label family -------------------------------------------------------------------------------

def label_workspace_bytes(n: int) -> int:
    """Scan workspace bytes label() needs for n pixels."""

def label(
    fg: int,
    height: int,
    width: int,
    connectivity: int,
    parent: int,
    rank: int,
    temp: int,
    temp_bytes: int,
    out: int,
    stream: int,
) -> None:
    """Connected components of a uint8 mask into int32 labels (raster order of first pixels);
    parent and rank are int32 workspaces of height * width, temp has temp_bytes bytes."""

def label_histogram(labels: int, n: int, counts: int, stream: int) -> None:
    """counts[v] += pixels of value v > 0 (int32 labels and counts; counts zeroed by the caller)."""

def label_lookup(labels: int, n: int, lut: int, out: int, stream: int) -> None:
    """out[i] = lut[labels[i]] (int32)."""

def relabel_lut(counts: int, rank: int, bins: int, lut: int, stream: int) -> None:
    """relabel_sequential's table from the histogram and the inclusive count of present values
    (int64 rank)."""

def remove_small_lut(counts: int, bins: int, min_size: int, lut: int, stream: int) -> None:
    """remove_small_objects' table: v if its area >= min_size else 0."""

def fill_holes(
    labels: int, height: int, width: int, comp: int, owner: int, out: int, stream: int
) -> None:
    """Fill holes given background components comp and an owner table set to -1."""

# ---- nms ----------------------------------------------------------------------------------------

def nms_mask(
    sorted_boxes: int,
    sorted_idxs: int,
    n: int,
    iou_threshold: float,
    dtype: str,
    mask: int,
    stream: int,
) -> None:
    """Suppression mask of n score-sorted boxes (n x 4 float32/float64; sorted_idxs: int64
    categories or 0) into mask (n x ceil(n/64) uint64); reduce it with _core.nms_reduce_mask."""

# ---- paste_masks --------------------------------------------------------------------------------

def paste_masks(
    masks: int,
    boxes: int,
    scores: int,
    keys: int,
    labels: int,
    rois: int,
    mask_h: int,
    mask_w: int,
    image_h: int,
    image_w: int,
    threshold: float,
    dtype: str,
    stream: int,
) -> None:
    """paste_masks on device buffers: masks float32/float16, boxes and scores float32, keys an
    int64 workspace of image_h * image_w, labels int32 (image_h, image_w)."""

# ---- regionprops --------------------------------------------------------------------------------

def regionprops_init(
    height: int,
    width: int,
    channels: int,
    num_classes: int,
    num_bins: int,
    count: int,
    sum_y: int,
    sum_x: int,
    bbox: int,
    sum_intensity: int,
    class_count: int,
    stream: int,
) -> None:
    """Initialise the per-label accumulator tables."""

def regionprops_accumulate(
    height: int,
    width: int,
    channels: int,
    num_classes: int,
    num_bins: int,
    labels: int,
    intensity: int,
    classes: int,
    count: int,
    sum_y: int,
    sum_x: int,
    bbox: int,
    sum_intensity: int,
    class_count: int,
    stream: int,
) -> None:
    """Add every pixel (int32 labels, float32 (H, W, C) intensity, int32 classes) to its label."""

def regionprops_shape(
    height: int,
    width: int,
    num_rows: int,
    labels: int,
    lut: int,
    bbox: int,
    area: int,
    row_offset: int,
    moments: int,
    perimeter_count: int,
    row_min: int,
    row_max: int,
    hull: int,
    perimeter: int,
    eccentricity: int,
    major: int,
    minor: int,
    orientation: int,
    convex_area: int,
    stream: int,
) -> None:
    """Shape descriptors of the present labels (regionprops_shape.h)."""

def regionprops_finalize(
    height: int,
    width: int,
    channels: int,
    num_classes: int,
    num_bins: int,
    count: int,
    sum_y: int,
    sum_x: int,
    bbox: int,
    sum_intensity: int,
    class_count: int,
    present: int,
    num_present: int,
    area: int,
    bbox_out: int,
    centroid: int,
    mean_intensity: int,
    majority_class: int,
    stream: int,
) -> None:
    """One output row per present label (int64 label values, increasing)."""

# ---- roi_align ----------------------------------------------------------------------------------

def roi_align_forward(
    input: int,
    rois: int,
    output: int,
    batch: int,
    channels: int,
    height: int,
    width: int,
    num_rois: int,
    pooled_h: int,
    pooled_w: int,
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
    dtype: str,
    stream: int,
) -> None:
    """RoIAlign forward on device buffers: input NCHW, rois (K, 5) (float32 for float16 input),
    output (K, C, pooled_h, pooled_w)."""

def roi_align_backward(
    grad_output: int,
    rois: int,
    grad_input: int,
    batch: int,
    channels: int,
    height: int,
    width: int,
    num_rois: int,
    pooled_h: int,
    pooled_w: int,
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
    dtype: str,
    stream: int,
) -> None:
    """RoIAlign backward on device buffers; grad_input (NCHW) must be zeroed by the caller."""

def roi_align_fpn_levels(
    rois: int,
    levels: int,
    num_rois: int,
    canonical_size: float,
    canonical_level: float,
    k_min: int,
    num_levels: int,
    dtype: str,
    stream: int,
) -> None:
    """FPN level index (int64, -1: none) of each RoI row, rois of the box dtype of `dtype`
    features."""

# ---- watershed ----------------------------------------------------------------------------------

def watershed(
    levels: int,
    markers: int,
    mask: int,
    state: int,
    parent: int,
    changed: int,
    out: int,
    height: int,
    width: int,
    connectivity: int,
    stream: int,
) -> None:
    """Marker-controlled watershed on the GPU (relaxation + pointer jumping). levels: int32
    ranks of the image values; markers int32; mask uint8 or 0 for none; state and parent int64
    and changed int32[1] are workspace; out int32. Synchronises the stream."""
