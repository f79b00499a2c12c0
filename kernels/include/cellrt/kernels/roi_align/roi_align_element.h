// RoIAlign element functions: the single source of the RoIAlign semantics. The CPU element loop,
// the CPU channels-last fast path and the CUDA kernels all compute through these helpers.
//
// Semantics are torchvision's roi_align (Mask R-CNN RoIAlign with average pooling):
//   * box (x1, y1, x2, y2) in image pixels -> feature-map coordinates by * spatial_scale, minus
//     0.5 when aligned (half-pixel model: feature pixel i is centred at coordinate i);
//   * when not aligned the RoI width and height are forced to >= 1 (legacy behaviour);
//   * each of the pooled_h x pooled_w bins averages grid_h x grid_w bilinear samples placed at the
//     centres of a regular sub-grid; grid = sampling_ratio, or ceil(bin size) when it is <= 0;
//   * a sample with y < -1, y > H, x < -1 or x > W contributes 0; samples in [-1, 0] clamp to
//     row/column 0 and samples beyond the last row/column clamp to it.
// Deviations, both for inputs torchvision mishandles: a NaN coordinate contributes 0 (torchvision's
// CPU kernel converts it to an integer index and reads out of bounds), and the adaptive grid is
// capped at kRoiAlignMaxAdaptiveGrid samples per bin side (torchvision would spend > 1M samples per
// bin there, or overflow int on huge or infinite boxes).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/roi_align/roi_align_params.h"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

namespace cellrt {

// Arithmetic (and box) type for a storage type: half-precision maps accumulate in float.
template <typename T>
struct RoiAlignAcc {
  using type = T;
};
#if defined(__CUDACC__)
template <>
struct RoiAlignAcc<__half> {
  using type = float;
};
#endif
template <typename T>
using roi_align_acc_t = typename RoiAlignAcc<T>::type;

inline constexpr int64_t kRoiAlignMaxAdaptiveGrid = 1024;

// One RoI in feature-map coordinates. Coordinates are continuous with feature pixel i at i.
template <typename A>
struct RoiAlignBox {
  int64_t batch;
  A start_h, start_w;      // top-left corner of the RoI
  A bin_h, bin_w;          // bin size (feature pixels)
  int64_t grid_h, grid_w;  // samples per bin along y and x
  A count;                 // divisor of the bin average: max(grid_h * grid_w, 1)
};

// Adaptive samples per bin side: ceil(bin size). NaN, zero and negative sizes give no samples
// (torchvision's ceil(<= 0) gives an empty loop, so the bin is 0); an infinite size gives none too,
// since every sample coordinate would be +-inf or NaN and contribute 0 anyway.
template <typename A>
CELLRT_HD int64_t roi_align_adaptive_grid(A bin_size) {
  if (!(bin_size > A(0)) || bin_size > std::numeric_limits<A>::max()) return 0;
  if (bin_size >= A(kRoiAlignMaxAdaptiveGrid)) return kRoiAlignMaxAdaptiveGrid;
  return static_cast<int64_t>(std::ceil(bin_size));
}

// roi points at one row (batch_index, x1, y1, x2, y2) in image pixels. The batch index is
// truncated toward zero like torchvision; callers validated it is in [0, batch).
template <typename A>
CELLRT_HD RoiAlignBox<A> roi_align_box(const RoiAlignParams& p, const A* roi) {
  RoiAlignBox<A> b;
  b.batch = static_cast<int64_t>(roi[0]);
  const A scale = static_cast<A>(p.spatial_scale);
  const A offset = p.aligned ? A(0.5) : A(0);
  b.start_w = roi[1] * scale - offset;
  b.start_h = roi[2] * scale - offset;
  A roi_w = roi[3] * scale - offset - b.start_w;
  A roi_h = roi[4] * scale - offset - b.start_h;
  if (!p.aligned) {
    // Written as `< 1` so a NaN size stays NaN (and pools to 0) instead of becoming 1.
    if (roi_w < A(1)) roi_w = A(1);
    if (roi_h < A(1)) roi_h = A(1);
  }
  b.bin_h = roi_h / static_cast<A>(p.pooled_h);
  b.bin_w = roi_w / static_cast<A>(p.pooled_w);
  b.grid_h = p.sampling_ratio > 0 ? p.sampling_ratio : roi_align_adaptive_grid(b.bin_h);
  b.grid_w = p.sampling_ratio > 0 ? p.sampling_ratio : roi_align_adaptive_grid(b.bin_w);
  const int64_t n = b.grid_h * b.grid_w;
  b.count = static_cast<A>(n > 1 ? n : 1);
  return b;
}

// Coordinate of sample i (of `grid`) in bin `bin_index` along one axis, in torchvision's operation
// order (so the element loop's float32 results match torchvision's bit for bit).
template <typename A>
CELLRT_HD A roi_align_sample_coord(A start, A bin_size, int64_t bin_index, int64_t i, int64_t grid) {
  return start + static_cast<A>(bin_index) * bin_size +
         static_cast<A>(static_cast<A>(i) + A(0.5)) * bin_size / static_cast<A>(grid);
}

// The four bilinear taps of one sample: pixel offsets (y * W + x) of the corners
// (low y, low x), (low y, high x), (high y, low x), (high y, high x) and their weights.
template <typename A>
struct RoiAlignTaps {
  int64_t o1, o2, o3, o4;
  A w1, w2, w3, w4;
};

// Low/high neighbour and fractional weight along one axis of size n, for v in [-1, n].
template <typename A>
struct RoiAlignAxisTap {
  int64_t lo, hi;
  A frac;  // weight of hi; lo gets 1 - frac
};

template <typename A>
CELLRT_HD RoiAlignAxisTap<A> roi_align_axis_tap(int64_t n, A v) {
  if (v <= A(0)) v = A(0);  // [-1, 0] reads the first pixel with full weight
  RoiAlignAxisTap<A> t;
  t.lo = static_cast<int64_t>(v);
  if (t.lo >= n - 1) {  // at or beyond the last pixel centre: read the last pixel only
    t.lo = t.hi = n - 1;
    v = static_cast<A>(t.lo);
  } else {
    t.hi = t.lo + 1;
  }
  t.frac = v - static_cast<A>(t.lo);
  return t;
}

// Whether a coordinate lies in [-1, n] along an axis of n pixels; false for NaN, since every
// comparison with NaN is false. A sample contributes iff both its coordinates are in range.
template <typename A>
CELLRT_HD bool roi_align_axis_in_range(int64_t n, A v) {
  return v >= A(-1) && v <= static_cast<A>(n);
}

// Taps of the sample (y, x) on an height x width map (both >= 1). Returns false when the sample
// contributes 0. The test is written as !(in range) so that a NaN coordinate lands here instead of
// being converted to an integer index (undefined behaviour, and an out-of-bounds read in practice).
template <typename A>
CELLRT_HD bool roi_align_taps(int64_t height, int64_t width, A y, A x, RoiAlignTaps<A>& t) {
  if (!(roi_align_axis_in_range(height, y) && roi_align_axis_in_range(width, x))) return false;
  const RoiAlignAxisTap<A> ty = roi_align_axis_tap(height, y);
  const RoiAlignAxisTap<A> tx = roi_align_axis_tap(width, x);
  const A hy = A(1) - ty.frac, hx = A(1) - tx.frac;
  t.o1 = ty.lo * width + tx.lo;
  t.o2 = ty.lo * width + tx.hi;
  t.o3 = ty.hi * width + tx.lo;
  t.o4 = ty.hi * width + tx.hi;
  t.w1 = hy * hx;
  t.w2 = hy * tx.frac;
  t.w3 = ty.frac * hx;
  t.w4 = ty.frac * tx.frac;
  return true;
}

// The interpolated value from the four corner values (all four are always read, so a NaN corner
// propagates even with zero weight, as in torchvision).
template <typename A>
CELLRT_HD A roi_align_blend(const RoiAlignTaps<A>& t, A v1, A v2, A v3, A v4) {
  return t.w1 * v1 + t.w2 * v2 + t.w3 * v3 + t.w4 * v4;
}

// Coordinates of element `index` of the (num_rois, channels, pooled_h, pooled_w) output: RoI k,
// channel c, bin (ph, pw).
struct RoiAlignBin {
  int64_t k, c, ph, pw;
};

CELLRT_HD RoiAlignBin roi_align_bin(const RoiAlignParams& p, int64_t index) {
  return {index / (p.pooled_w * p.pooled_h * p.channels),
          (index / (p.pooled_w * p.pooled_h)) % p.channels, (index / p.pooled_w) % p.pooled_h,
          index % p.pooled_w};
}

// Calls fn(taps) for every bilinear sample of bin (ph, pw) of box b that lies on the map, in
// row-major sample order: the terms the forward sums and the backward scatters, in one order.
template <typename A, typename Fn>
CELLRT_HD void roi_align_for_each_sample(const RoiAlignParams& p, const RoiAlignBox<A>& b,
                                         int64_t ph, int64_t pw, Fn&& fn) {
  for (int64_t iy = 0; iy < b.grid_h; ++iy) {
    const A y = roi_align_sample_coord(b.start_h, b.bin_h, ph, iy, b.grid_h);
    for (int64_t ix = 0; ix < b.grid_w; ++ix) {
      const A x = roi_align_sample_coord(b.start_w, b.bin_w, pw, ix, b.grid_w);
      RoiAlignTaps<A> t;
      if (roi_align_taps(p.height, p.width, y, x, t)) fn(t);
    }
  }
}

// Output element `index` of the (num_rois, channels, pooled_h, pooled_w) output; input is NCHW,
// rois is (num_rois, 5).
template <typename T>
CELLRT_HD T roi_align_forward_element(const RoiAlignParams& p, const T* input,
                                      const roi_align_acc_t<T>* rois, int64_t index) {
  using A = roi_align_acc_t<T>;
  const auto [k, c, ph, pw] = roi_align_bin(p, index);
  const RoiAlignBox<A> b = roi_align_box(p, rois + 5 * k);
  const T* plane = input + (b.batch * p.channels + c) * p.height * p.width;
  A sum = A(0);
  roi_align_for_each_sample(p, b, ph, pw, [&](const RoiAlignTaps<A>& t) {
    sum += roi_align_blend(t, static_cast<A>(plane[t.o1]), static_cast<A>(plane[t.o2]),
                           static_cast<A>(plane[t.o3]), static_cast<A>(plane[t.o4]));
  });
  return static_cast<T>(sum / b.count);
}

// Backward of output element `index`: scatters grad_output[index] / count * weight into the four
// taps of every sample. grad_input (NCHW) accumulates, through atomics because samples of different
// bins and RoIs share pixels.
template <typename T>
CELLRT_HD void roi_align_backward_element(const RoiAlignParams& p, const T* grad_output,
                                          const roi_align_acc_t<T>* rois, T* grad_input,
                                          int64_t index) {
  using A = roi_align_acc_t<T>;
  const auto [k, c, ph, pw] = roi_align_bin(p, index);
  const RoiAlignBox<A> b = roi_align_box(p, rois + 5 * k);
  const A g = static_cast<A>(grad_output[index]) / b.count;
  T* plane = grad_input + (b.batch * p.channels + c) * p.height * p.width;
  roi_align_for_each_sample(p, b, ph, pw, [&](const RoiAlignTaps<A>& t) {
    atomic_add(plane + t.o1, static_cast<T>(g * t.w1));
    atomic_add(plane + t.o2, static_cast<T>(g * t.w2));
    atomic_add(plane + t.o3, static_cast<T>(g * t.w3));
    atomic_add(plane + t.o4, static_cast<T>(g * t.w4));
  });
}

// FPN level index (0 .. num_levels - 1) of one RoI row (batch_index, x1, y1, x2, y2), in image
// pixels, by the rule documented at RoiAlignFpnParams, with torchvision's operation order. A box
// of negative or NaN area has no level (-1): it pools to zeros, as in torchvision. With a single
// level every box uses it, again as torchvision does.
template <typename A>
CELLRT_HD int64_t roi_align_fpn_level(const RoiAlignFpnParams& p, const A* roi) {
  if (p.num_levels == 1) return 0;
  const A area = (roi[3] - roi[1]) * (roi[4] - roi[2]);
  const A level = std::floor(static_cast<A>(p.canonical_level) +
                             std::log2(std::sqrt(area) / static_cast<A>(p.canonical_size)) +
                             static_cast<A>(1e-6));
  if (level != level) return -1;  // NaN: sqrt of a negative area
  const A k_max = static_cast<A>(p.k_min + p.num_levels - 1);
  if (level <= static_cast<A>(p.k_min)) return 0;
  if (level >= k_max) return p.num_levels - 1;
  return static_cast<int64_t>(level) - p.k_min;
}

}  // namespace cellrt
