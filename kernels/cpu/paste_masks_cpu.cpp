// paste_masks CPU driver. The GPU resolves overlaps with an atomic max over (score, index) keys;
// on the CPU the same rule is cheaper as "visit rois in decreasing key order, first claim wins",
// because a claimed pixel is then never sampled again. Both call the same per-pixel element
// (paste_pixel_hit) and the same key order; paste_masks_emulate_device_cpu runs the GPU's steps
// for the tests that check the two agree.
#include <algorithm>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/paste_masks/paste_masks.h"
#include "cellrt/kernels/paste_masks/paste_masks_element.h"

namespace cellrt {

namespace {

using A = double;

// Rows per band of the parallel loop: small enough that a 1024-row image has ~64 bands to
// balance across threads, large enough that a 10-40 px nucleus touches only 2-4 of them.
constexpr int64_t kBandRows = 16;

}  // namespace

template <typename T>
Status paste_masks_cpu(const PasteMasksParams& p, const T* masks, const double* boxes,
                       const float* scores, int32_t* labels) {
  const int64_t num_bands = ceil_div(p.image_h, kBandRows);
  std::vector<PasteRoi<A>> rois;
  std::vector<int64_t> active;
  std::vector<int64_t> band_start;
  std::vector<int64_t> band_rois;
  try {
    rois.reserve(static_cast<size_t>(p.rois));
    for (int64_t i = 0; i < p.rois; ++i) {
      rois.push_back(paste_roi<A>(p, boxes, scores, i));
      if (rois.back().key != 0) active.push_back(i);
    }
    std::sort(active.begin(), active.end(),
              [&](int64_t a, int64_t b) { return rois[a].key > rois[b].key; });
    // Bucket the rois by band (CSR), each bucket in priority order.
    band_start.assign(static_cast<size_t>(num_bands + 1), 0);
    for (int64_t i : active) {
      for (int64_t b = rois[i].y_lo / kBandRows; b <= (rois[i].y_hi - 1) / kBandRows; ++b) {
        ++band_start[b + 1];
      }
    }
    for (int64_t b = 0; b < num_bands; ++b) band_start[b + 1] += band_start[b];
    band_rois.resize(static_cast<size_t>(band_start[num_bands]));
    std::vector<int64_t> fill(band_start.begin(), band_start.end() - 1);
    for (int64_t i : active) {
      for (int64_t b = rois[i].y_lo / kBandRows; b <= (rois[i].y_hi - 1) / kBandRows; ++b) {
        band_rois[fill[b]++] = i;
      }
    }
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }

#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < num_bands; ++b) {
    const int64_t row_lo = b * kBandRows;
    const int64_t row_hi = std::min(p.image_h, row_lo + kBandRows);
    std::fill(labels + row_lo * p.image_w, labels + row_hi * p.image_w, 0);
    for (int64_t j = band_start[b]; j < band_start[b + 1]; ++j) {
      const int64_t i = band_rois[j];
      const PasteRoi<A>& g = rois[i];
      const int32_t label = static_cast<int32_t>(i + 1);
      for (int64_t py = std::max(g.y_lo, row_lo); py < std::min(g.y_hi, row_hi); ++py) {
        int32_t* row = labels + py * p.image_w;
        for (int64_t px = g.x_lo; px < g.x_hi; ++px) {
          if (row[px] == 0 && paste_pixel_hit<T, A>(p, masks, g, i, px, py)) row[px] = label;
        }
      }
    }
  }
  return Status::kOk;
}

template <typename T>
Status paste_masks_emulate_device_cpu(const PasteMasksParams& p, const T* masks,
                                      const double* boxes, const float* scores, PasteOrder order,
                                      uint64_t seed, bool parallel, int32_t* labels) {
  const int64_t pixels = p.image_h * p.image_w;
  std::vector<PasteRoi<A>> rois;
  std::vector<std::pair<int64_t, int64_t>> steps;  // (roi, window pixel), as the GPU threads
  std::vector<paste_key_t> keys;
  try {
    for (int64_t i = 0; i < p.rois; ++i) {
      rois.push_back(paste_roi<A>(p, boxes, scores, i));
      for (int64_t k = 0; k < rois.back().count(); ++k) steps.emplace_back(i, k);
    }
    keys.assign(static_cast<size_t>(pixels), 0);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  if (order == PasteOrder::kReversed) {
    std::reverse(steps.begin(), steps.end());
  } else if (order == PasteOrder::kShuffled) {
    std::mt19937_64 rng(seed);
    std::shuffle(steps.begin(), steps.end(), rng);
  }
  const int64_t n = static_cast<int64_t>(steps.size());
#pragma omp parallel for schedule(dynamic, 64) if (parallel)
  for (int64_t s = 0; s < n; ++s) {
    const int64_t i = steps[s].first;
    paste_masks_key_element<T, A>(p, masks, rois[i], i, steps[s].second, keys.data());
  }
  for (int64_t q = 0; q < pixels; ++q) paste_masks_decode_element(keys.data(), labels, q);
  return Status::kOk;
}

#define CELLRT_INSTANTIATE(T)                                                                 \
  template Status paste_masks_cpu<T>(const PasteMasksParams&, const T*, const double*,        \
                                     const float*, int32_t*);                                 \
  template Status paste_masks_emulate_device_cpu<T>(const PasteMasksParams&, const T*,        \
                                                    const double*, const float*, PasteOrder,  \
                                                    uint64_t, bool, int32_t*);
CELLRT_INSTANTIATE(float)
CELLRT_INSTANTIATE(double)
#undef CELLRT_INSTANTIATE

}  // namespace cellrt
