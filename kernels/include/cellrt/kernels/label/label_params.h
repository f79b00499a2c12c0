// Parameters of the label kernel family (connected components, relabel, small-object removal,
// hole filling). Images are 2-D, row-major, C-contiguous: pixel (y, x) has flat index
// y * width + x.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

struct LabelParams {
  int64_t height = 0;
  int64_t width = 0;
  // 1: 4-neighbourhood (edge-adjacent pixels), 2: 8-neighbourhood (edge- or corner-adjacent),
  // the scikit-image convention.
  int32_t connectivity = 1;
};
static_assert(std::is_trivially_copyable_v<LabelParams>, "passed by value to CUDA kernels");

// Sentinels of fill_holes' per-component owner table. Instance labels are >= 1, so both are
// below every real owner and atomic_min(kHoleConflict) always wins.
inline constexpr int32_t kHoleNone = -1;      // no instance seen next to the component yet
inline constexpr int32_t kHoleConflict = -2;  // touches the border or two different instances

}  // namespace cellrt
