// Parameters of roi_align and multilevel_roi_align, passed by value to CPU drivers and CUDA kernels.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

// One RoIAlign call on one feature map. Sizes are element counts; the feature map is
// (batch, channels, height, width), the output (num_rois, channels, pooled_h, pooled_w).
struct RoiAlignParams {
  int64_t batch;
  int64_t channels;
  int64_t height;
  int64_t width;
  int64_t num_rois;
  int64_t pooled_h;
  int64_t pooled_w;
  // Box coordinates (image pixels) times spatial_scale = feature-map coordinates.
  double spatial_scale;
  // Samples per bin side; <= 0 selects the adaptive grid ceil(roi size / pooled size).
  int64_t sampling_ratio;
  // true: half-pixel model (box edge x maps to x * scale - 0.5, pixel centres at integers);
  // false: the legacy Mask R-CNN model (no shift, RoI width and height forced to >= 1).
  bool aligned;
};

// The FPN level rule of multilevel_roi_align (Mask R-CNN / torchvision LevelMapper):
// level = floor(canonical_level + log2(sqrt(box area) / canonical_size) + 1e-6), clamped to
// [k_min, k_min + num_levels - 1]; level k pools from the map of spatial scale 2^-k.
struct RoiAlignFpnParams {
  double canonical_size;   // image pixels; a box of this side maps to canonical_level
  double canonical_level;
  int64_t k_min;           // -log2 of the finest map's spatial scale
  int64_t num_levels;
};

// One feature map of a multilevel call: its spatial size and scale (batch and channels are shared).
struct RoiAlignLevel {
  int64_t height;
  int64_t width;
  double spatial_scale;
};

static_assert(std::is_trivially_copyable_v<RoiAlignParams>, "passed to CUDA kernels by value");
static_assert(std::is_trivially_copyable_v<RoiAlignFpnParams>, "passed to CUDA kernels by value");
static_assert(std::is_trivially_copyable_v<RoiAlignLevel>, "copied into per-level params");

}  // namespace cellrt
