// Parameters of the nms / batched_nms kernels, passed by value to CUDA kernels (hence POD).
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

struct NmsParams {
  int64_t n;               // number of boxes
  int64_t col_blocks;      // ceil(n / kNmsBlock): 64-bit suppression words per mask row (CUDA path)
  double iou_threshold;    // a later box is suppressed when IoU > iou_threshold (strictly)
};

static_assert(std::is_trivially_copyable_v<NmsParams>, "NmsParams is passed by value to kernels");
static_assert(std::is_standard_layout_v<NmsParams>, "NmsParams must be POD");

}  // namespace cellrt
