// 64-bit index helpers. All kernel index math is int64_t: a 2048x2048x256 feature map already
// overflows int32.
#pragma once

#include <cstdint>
#include <limits>

#include "cellrt/kernels/common/hd.h"

namespace cellrt {

CELLRT_HD int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

CELLRT_HD int64_t clamp_i64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

// Checked narrowing for the few places an API needs int32 (CUDA grid dimensions).
inline bool fits_int32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

// Grid size for a grid-stride loop over n elements: enough blocks to fill a large GPU, never
// more than needed, never zero (callers return early on n == 0).
inline int64_t grid_blocks(int64_t n, int64_t threads, int64_t max_blocks = 65535) {
  const int64_t b = ceil_div(n, threads);
  return b < 1 ? 1 : (b > max_blocks ? max_blocks : b);
}

}  // namespace cellrt
