// regionprops, CPU driver.
//
// The GPU adds every pixel to its label's accumulators with atomics (regionprops_element.h). On
// the CPU that is needlessly slow: label images are long runs of equal values, so this driver
// walks each row run by run (background skipped 8 or 4 labels per AVX2 compare) and updates
// count, coordinate sums and bbox once per run; only intensities and classes are per pixel.
// Threads take row strips and private tables, merged at the end. The tests compare this path with
// the atomic element function run in shuffled order (regionprops_accumulate_emulate_cpu).
// Initialisation and finalisation use the shared element functions.
#include "cellrt/kernels/regionprops/regionprops.h"

#include <algorithm>
#include <bit>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "cellrt/kernels/common/parallel.h"
#include "cellrt/kernels/regionprops/regionprops_element.h"

namespace cellrt {
namespace {

// First index in [x, w) whose label differs from v (w if none).
template <typename L>
int64_t skip_equal(const L* row, int64_t x, int64_t w, L v) {
#if defined(__AVX2__)
  if constexpr (sizeof(L) == 4) {
    const __m256i vv = _mm256_set1_epi32(static_cast<int32_t>(v));
    for (; x + 8 <= w; x += 8) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + x));
      const auto eq = static_cast<uint32_t>(
          _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, vv))));
      if (eq != 0xFFu) return x + std::countr_zero(~eq);
    }
  } else if constexpr (sizeof(L) == 8) {
    const __m256i vv = _mm256_set1_epi64x(static_cast<int64_t>(v));
    for (; x + 4 <= w; x += 4) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + x));
      const auto eq = static_cast<uint32_t>(
          _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(a, vv))));
      if (eq != 0xFu) return x + std::countr_zero(~eq);
    }
  }
#endif
  while (x < w && row[x] == v) ++x;
  return x;
}

// Owns one thread's private tables.
struct AccumBuffers {
  std::vector<rp_u64> count, sum_y, sum_x, class_count;
  std::vector<int32_t> bbox;
  std::vector<double> sum_intensity;

  RegionpropsAccum allocate(const RegionpropsParams& p) {
    const auto b = static_cast<size_t>(p.num_bins);
    count.resize(b);
    sum_y.resize(b);
    sum_x.resize(b);
    bbox.resize(4 * b);
    sum_intensity.resize(b * static_cast<size_t>(p.channels));
    class_count.resize(b * static_cast<size_t>(p.num_classes));
    return {count.data(), sum_y.data(), sum_x.data(), bbox.data(), sum_intensity.data(),
            class_count.data()};
  }
};

void init_tables(const RegionpropsParams& p, const RegionpropsAccum& a) {
  for (int64_t l = 0; l < p.num_bins; ++l) regionprops_init_element(p, a, l);
}

template <typename L, typename T>
void accumulate_rows(const RegionpropsParams& p, const L* labels, const T* intensity,
                     const int32_t* classes, const RegionpropsAccum& a, int64_t y0, int64_t y1) {
  const int64_t w = p.width;
  const int64_t nc = p.channels;
  const int64_t nk = p.num_classes;
  for (int64_t y = y0; y < y1; ++y) {
    const L* row = labels + y * w;
    int64_t x = skip_equal(row, 0, w, L(0));
    while (x < w) {
      const L v = row[x];
      const int64_t x1 = skip_equal(row, x + 1, w, v);
      const auto len = static_cast<rp_u64>(x1 - x);
      const auto l = static_cast<int64_t>(v);
      a.count[l] += len;
      a.sum_y[l] += static_cast<rp_u64>(y) * len;
      a.sum_x[l] += static_cast<rp_u64>(x + x1 - 1) * len / 2;  // x + ... + (x1 - 1), exact
      int32_t* b = a.bbox + 4 * l;
      b[0] = std::min(b[0], static_cast<int32_t>(y));
      b[1] = std::min(b[1], static_cast<int32_t>(x));
      b[2] = std::max(b[2], static_cast<int32_t>(y + 1));
      b[3] = std::max(b[3], static_cast<int32_t>(x1));
      if (nc > 0) {
        const T* px = intensity + (y * w + x) * nc;
        double* s = a.sum_intensity + l * nc;
        for (int64_t c = 0; c < nc; ++c) {
          double run_sum = 0.0;
          for (int64_t k = 0; k < x1 - x; ++k) run_sum += static_cast<double>(px[k * nc + c]);
          s[c] += run_sum;
        }
      }
      if (nk > 0) {
        const int32_t* cl = classes + y * w;
        rp_u64* cc = a.class_count + l * nk;
        for (int64_t k = x; k < x1; ++k) ++cc[cl[k]];
      }
      x = skip_equal(row, x1, w, L(0));
    }
  }
}

void merge_label(const RegionpropsParams& p, const RegionpropsAccum& dst,
                 const RegionpropsAccum& src, int64_t l) {
  if (src.count[l] == 0) return;
  dst.count[l] += src.count[l];
  dst.sum_y[l] += src.sum_y[l];
  dst.sum_x[l] += src.sum_x[l];
  int32_t* b = dst.bbox + 4 * l;
  const int32_t* s = src.bbox + 4 * l;
  b[0] = std::min(b[0], s[0]);
  b[1] = std::min(b[1], s[1]);
  b[2] = std::max(b[2], s[2]);
  b[3] = std::max(b[3], s[3]);
  for (int64_t c = 0; c < p.channels; ++c) {
    dst.sum_intensity[l * p.channels + c] += src.sum_intensity[l * p.channels + c];
  }
  for (int64_t k = 0; k < p.num_classes; ++k) {
    dst.class_count[l * p.num_classes + k] += src.class_count[l * p.num_classes + k];
  }
}

bool valid(const RegionpropsParams& p) {
  return p.height >= 0 && p.width >= 0 && p.channels >= 0 && p.num_classes >= 0 &&
         p.num_bins >= 1 && p.height < kRegionpropsNoPixel && p.width < kRegionpropsNoPixel;
}

}  // namespace

template <typename L, typename T>
Status regionprops_accumulate_cpu(const RegionpropsParams& p, const L* labels, const T* intensity,
                                  const int32_t* classes, const RegionpropsAccum& acc) {
  if (!valid(p)) return Status::kInvalidArgument;
  init_tables(p, acc);
  const int64_t n = p.height * p.width;
  // Private tables pay off while they are small next to the label image they summarise.
  const int64_t bytes_per_bin = 4 * 8 + 16 + 8 * p.channels + 8 * p.num_classes;
  int64_t threads = n >= kParallelMinPixels ? std::min<int64_t>(max_threads(), p.height / 16) : 1;
  const int64_t image_bytes = n * static_cast<int64_t>(sizeof(L));
  if (threads > 1 && (threads - 1) * p.num_bins * bytes_per_bin > image_bytes) {
    threads = 1;
  }
  if (threads <= 1) {
    accumulate_rows(p, labels, intensity, classes, acc, 0, p.height);
    return Status::kOk;
  }
  std::vector<AccumBuffers> buffers(static_cast<size_t>(threads - 1));
  std::vector<RegionpropsAccum> parts(static_cast<size_t>(threads - 1));
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel num_threads(static_cast<int>(threads))
  {
    const int64_t tid = thread_id();
    const int64_t nth = team_size();
    RegionpropsAccum a = acc;
    if (tid > 0) {
      a = parts[tid - 1] = buffers[tid - 1].allocate(p);
      init_tables(p, a);
    }
    accumulate_rows(p, labels, intensity, classes, a, p.height * tid / nth,
                    p.height * (tid + 1) / nth);
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t l = 0; l < p.num_bins; ++l) {
      for (int64_t t = 0; t + 1 < nth; ++t) merge_label(p, acc, parts[t], l);
    }
  }
#endif
  return Status::kOk;
}

template <typename L, typename T>
Status regionprops_accumulate_emulate_cpu(const RegionpropsParams& p, const L* labels,
                                          const T* intensity, const int32_t* classes,
                                          const int64_t* order, const RegionpropsAccum& acc) {
  if (!valid(p)) return Status::kInvalidArgument;
  init_tables(p, acc);
  const int64_t n = p.height * p.width;
  for (int64_t k = 0; k < n; ++k) {
    regionprops_accumulate_element(p, labels, intensity, classes, acc, order[k]);
  }
  return Status::kOk;
}

Status regionprops_present_cpu(const RegionpropsParams& p, const RegionpropsAccum& acc,
                               int64_t* present, int64_t* num_present) {
  int64_t n = 0;
  for (int64_t l = 1; l < p.num_bins; ++l) {
    if (acc.count[l] > 0) present[n++] = l;
  }
  *num_present = n;
  return Status::kOk;
}

Status regionprops_finalize_cpu(const RegionpropsParams& p, const RegionpropsAccum& acc,
                                const int64_t* present, int64_t num_present,
                                const RegionpropsOutput& out) {
  for (int64_t j = 0; j < num_present; ++j) regionprops_finalize_element(p, acc, present, out, j);
  return Status::kOk;
}

namespace {

bool valid_shape(const ShapeParams& p) {
  return p.height >= 0 && p.width >= 0 && p.num_rows >= 0 && p.height < kShapeNoPixel &&
         p.width < kShapeNoPixel;
}

void shape_init_and_finalize(const ShapeParams& p, const ShapeAccum& a, const ShapeOutput& o,
                             bool finalize) {
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(dynamic, 16) if (p.num_rows >= 64)
#endif
  for (int64_t j = 0; j < p.num_rows; ++j) {
    if (finalize) {
      shape_finalize_element(p, a, o, j);
    } else {
      shape_init_element(p, a, j);
    }
  }
}

// Sum of k and of k^2 for k in [a, b).
inline rp_u64 sum_range(int64_t a, int64_t b) {
  return static_cast<rp_u64>((a + b - 1) * (b - a) / 2);
}
inline rp_u64 sum_squares_below(int64_t n) {  // 0^2 + ... + (n - 1)^2
  return static_cast<rp_u64>((n - 1) * n * (2 * n - 1) / 6);
}

}  // namespace

template <typename L>
Status regionprops_shape_cpu(const ShapeParams& p, const L* labels, const ShapeAccum& a,
                             const ShapeOutput& o) {
  if (!valid_shape(p)) return Status::kInvalidArgument;
  shape_init_and_finalize(p, a, o, false);
  const int64_t w = p.width;
  for (int64_t y = 0; y < p.height; ++y) {
    const L* row = labels + y * w;
    int64_t x = skip_equal(row, 0, w, L(0));
    while (x < w) {
      const L v = row[x];
      const int64_t x1 = skip_equal(row, x + 1, w, v);
      const int64_t j = a.lut[static_cast<int64_t>(v)];
      if (j >= 0) {
        const int64_t y0 = a.bbox[4 * j + 0], x0 = a.bbox[4 * j + 1];
        const auto ly = static_cast<rp_u64>(y - y0);
        const int64_t la = x - x0, lb = x1 - x0;  // local run [la, lb)
        const rp_u64 len = static_cast<rp_u64>(lb - la), sx = sum_range(la, lb);
        rp_u64* m = a.moments + 5 * j;
        m[0] += ly * len;
        m[1] += sx;
        m[2] += ly * ly * len;
        m[3] += sum_squares_below(lb) - sum_squares_below(la);
        m[4] += ly * sx;
        const int64_t r = a.row_offset[j] + static_cast<int64_t>(ly);
        a.row_min[r] = std::min(a.row_min[r], static_cast<int32_t>(la));
        a.row_max[r] = std::max(a.row_max[r], static_cast<int32_t>(lb - 1));
        for (int64_t k = x; k < x1; ++k) {
          const int cls = shape_perimeter_class(p, labels, y, k, v);
          if (cls > 0) ++a.perimeter_count[3 * j + cls - 1];
        }
      }
      x = skip_equal(row, x1, w, L(0));
    }
  }
  shape_init_and_finalize(p, a, o, true);
  return Status::kOk;
}

template <typename L>
Status regionprops_shape_emulate_cpu(const ShapeParams& p, const L* labels, const int64_t* order,
                                     const ShapeAccum& a, const ShapeOutput& o) {
  if (!valid_shape(p)) return Status::kInvalidArgument;
  shape_init_and_finalize(p, a, o, false);
  const int64_t n = p.height * p.width;
  for (int64_t k = 0; k < n; ++k) shape_accumulate_element(p, labels, a, order[k]);
  shape_init_and_finalize(p, a, o, true);
  return Status::kOk;
}

template Status regionprops_shape_cpu<int32_t>(const ShapeParams&, const int32_t*,
                                               const ShapeAccum&, const ShapeOutput&);
template Status regionprops_shape_cpu<int64_t>(const ShapeParams&, const int64_t*,
                                               const ShapeAccum&, const ShapeOutput&);
template Status regionprops_shape_emulate_cpu<int32_t>(const ShapeParams&, const int32_t*,
                                                       const int64_t*, const ShapeAccum&,
                                                       const ShapeOutput&);
template Status regionprops_shape_emulate_cpu<int64_t>(const ShapeParams&, const int64_t*,
                                                       const int64_t*, const ShapeAccum&,
                                                       const ShapeOutput&);

#define CELLRT_RP_INSTANTIATE(L, T)                                                            \
  template Status regionprops_accumulate_cpu<L, T>(const RegionpropsParams&, const L*, const T*, \
                                                   const int32_t*, const RegionpropsAccum&);    \
  template Status regionprops_accumulate_emulate_cpu<L, T>(                                    \
      const RegionpropsParams&, const L*, const T*, const int32_t*, const int64_t*,            \
      const RegionpropsAccum&);

CELLRT_RP_INSTANTIATE(int32_t, uint8_t)
CELLRT_RP_INSTANTIATE(int32_t, uint16_t)
CELLRT_RP_INSTANTIATE(int32_t, float)
CELLRT_RP_INSTANTIATE(int32_t, double)
CELLRT_RP_INSTANTIATE(int64_t, uint8_t)
CELLRT_RP_INSTANTIATE(int64_t, uint16_t)
CELLRT_RP_INSTANTIATE(int64_t, float)
CELLRT_RP_INSTANTIATE(int64_t, double)
#undef CELLRT_RP_INSTANTIATE

}  // namespace cellrt
