// Parameters and per-label accumulator layout of regionprops. Images are 2-D, row-major,
// C-contiguous: pixel (y, x) has flat index y * width + x; intensity is (H, W, C) channel-last.
// Tables are indexed by label value 0..num_bins-1 (entry 0, background, is never written).
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

// The 64-bit unsigned type CUDA's atomicAdd is declared for (uint64_t is `unsigned long` on
// Linux, which it is not).
using rp_u64 = unsigned long long;

struct RegionpropsParams {
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;     // intensity channels C; 0 = no intensity image
  int64_t num_classes = 0;  // class ids 0..K-1; 0 = no class map
  int64_t num_bins = 0;     // largest label + 1
};
static_assert(std::is_trivially_copyable_v<RegionpropsParams>, "passed by value to CUDA kernels");

// Per-label running sums. Integer sums are exact (centroids are sum / count in double); bbox
// holds the half-open box: bbox[4l + 0] = min y, [1] = min x, [2] = max(y + 1), [3] = max(x + 1).
struct RegionpropsAccum {
  rp_u64* count = nullptr;          // [num_bins]
  rp_u64* sum_y = nullptr;          // [num_bins]
  rp_u64* sum_x = nullptr;          // [num_bins]
  int32_t* bbox = nullptr;          // [num_bins * 4]
  double* sum_intensity = nullptr;  // [num_bins * channels]
  rp_u64* class_count = nullptr;    // [num_bins * num_classes]
};
static_assert(std::is_trivially_copyable_v<RegionpropsAccum>, "passed by value to CUDA kernels");

// One row per present label, in increasing label order.
struct RegionpropsOutput {
  int64_t* area = nullptr;            // [N] pixels
  int64_t* bbox = nullptr;            // [N * 4] y0, x0, y1, x1 (y1, x1 one past the last pixel)
  double* centroid = nullptr;         // [N * 2] mean y, mean x (pixel centres at integers)
  double* mean_intensity = nullptr;   // [N * C]
  int64_t* majority_class = nullptr;  // [N] most frequent class id, smallest id on ties
};
static_assert(std::is_trivially_copyable_v<RegionpropsOutput>, "passed by value to CUDA kernels");

}  // namespace cellrt
