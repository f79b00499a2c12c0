// Sizes of one attention_fusion call: features (rois, channels, height, width), mask logits
// (rois, 1, height, width), weight and bias (channels,). Passed by value to CUDA kernels.
#pragma once

#include <cstdint>
#include <type_traits>

#include "cellrt/kernels/common/hd.h"

namespace cellrt {

struct AttentionFusionParams {
  int64_t rois = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;

  CELLRT_HD int64_t plane() const { return height * width; }
  CELLRT_HD int64_t numel() const { return rois * channels * height * width; }
};

static_assert(std::is_trivially_copyable_v<AttentionFusionParams>,
              "AttentionFusionParams is passed to CUDA kernels by value");

}  // namespace cellrt
