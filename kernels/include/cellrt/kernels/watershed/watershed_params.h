// Parameters of the watershed kernels (passed by value to CUDA kernels, so plain old data).
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

// A 2-D image of height x width pixels, row-major (index = row * width + col).
struct WatershedParams {
  int64_t height;
  int64_t width;
  int32_t connectivity;  // 1: 4-neighbourhood, 2: 8-neighbourhood
};

static_assert(std::is_trivially_copyable_v<WatershedParams>);
static_assert(std::is_standard_layout_v<WatershedParams>);

}  // namespace cellrt
