// regionprops element functions: init one label's accumulators, add one pixel (atomics: the GPU
// kernel and its CPU emulation), finalize one output row (GPU and CPU alike).
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/regionprops/regionprops_params.h"

namespace cellrt {

inline constexpr int32_t kRegionpropsNoPixel = 0x7fffffff;  // bbox minima before any pixel

CELLRT_HD void regionprops_init_element(const RegionpropsParams& p, const RegionpropsAccum& a,
                                        int64_t l) {
  a.count[l] = 0;
  a.sum_y[l] = 0;
  a.sum_x[l] = 0;
  a.bbox[4 * l + 0] = kRegionpropsNoPixel;
  a.bbox[4 * l + 1] = kRegionpropsNoPixel;
  a.bbox[4 * l + 2] = 0;  // below every end row / column (>= 1)
  a.bbox[4 * l + 3] = 0;
  for (int64_t c = 0; c < p.channels; ++c) a.sum_intensity[l * p.channels + c] = 0.0;
  for (int64_t k = 0; k < p.num_classes; ++k) a.class_count[l * p.num_classes + k] = 0;
}

// Adds pixel i to its label's sums. Intensities are summed in double, so the result depends on
// the order of additions only in the last bits (exactly not at all for integer images).
template <typename L, typename T>
CELLRT_HD void regionprops_accumulate_element(const RegionpropsParams& p, const L* labels,
                                              const T* intensity, const int32_t* classes,
                                              const RegionpropsAccum& a, int64_t i) {
  const int64_t l = static_cast<int64_t>(labels[i]);
  if (l <= 0) return;
  const int64_t y = i / p.width;
  const int64_t x = i - y * p.width;
  atomic_add(&a.count[l], rp_u64{1});
  atomic_add(&a.sum_y[l], static_cast<rp_u64>(y));
  atomic_add(&a.sum_x[l], static_cast<rp_u64>(x));
  atomic_min(&a.bbox[4 * l + 0], static_cast<int32_t>(y));
  atomic_min(&a.bbox[4 * l + 1], static_cast<int32_t>(x));
  atomic_max(&a.bbox[4 * l + 2], static_cast<int32_t>(y + 1));
  atomic_max(&a.bbox[4 * l + 3], static_cast<int32_t>(x + 1));
  for (int64_t c = 0; c < p.channels; ++c) {
    const auto v = static_cast<double>(intensity[i * p.channels + c]);
    atomic_add(&a.sum_intensity[l * p.channels + c], v);
  }
  if (p.num_classes > 0) atomic_add(&a.class_count[l * p.num_classes + classes[i]], rp_u64{1});
}

// Output row j for label present[j] (a label with count > 0).
CELLRT_HD void regionprops_finalize_element(const RegionpropsParams& p, const RegionpropsAccum& a,
                                            const int64_t* present, const RegionpropsOutput& o,
                                            int64_t j) {
  const int64_t l = present[j];
  const rp_u64 n = a.count[l];
  const double area = static_cast<double>(n);
  o.area[j] = static_cast<int64_t>(n);
  for (int k = 0; k < 4; ++k) o.bbox[4 * j + k] = a.bbox[4 * l + k];
  o.centroid[2 * j + 0] = static_cast<double>(a.sum_y[l]) / area;
  o.centroid[2 * j + 1] = static_cast<double>(a.sum_x[l]) / area;
  for (int64_t c = 0; c < p.channels; ++c) {
    o.mean_intensity[j * p.channels + c] = a.sum_intensity[l * p.channels + c] / area;
  }
  if (p.num_classes > 0) {
    const rp_u64* cc = a.class_count + l * p.num_classes;
    int64_t best = 0;
    for (int64_t k = 1; k < p.num_classes; ++k) {
      if (cc[k] > cc[best]) best = k;  // strict: ties keep the smaller class id
    }
    o.majority_class[j] = best;
  }
}

}  // namespace cellrt
