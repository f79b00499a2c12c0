// roi_align CPU drivers.
//
// Two paths over the same element helpers (roi_align_element.h: RoI geometry, sample coordinates,
// NaN-safe range test, bilinear taps):
//  * the element loops: one output (or backward) element per iteration, exactly what the CUDA
//    kernels run; they are the reference the fast path is tested against;
//  * the production channels-last path. torchvision's CPU kernel gathers each sample's four taps
//    plane by plane, so for C channels it touches 4*C cache lines spread H*W elements apart. Here
//    the map is transposed to NHWC once and every weight is computed once per sample (or per
//    pixel row/column of a bin) and applied to all C channels as contiguous, vectorised rows.
//    The forward sums the same terms in another order (separable weights, forward_roi_nhwc), so
//    it equals the element loop to rounding; the backward applies each sample's four taps in the
//    element function's order and equals a sequential element loop bit for bit.
#include <algorithm>
#include <memory>
#include <new>
#include <vector>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/common/parallel.h"
#include "cellrt/kernels/roi_align/roi_align.h"
#include "cellrt/kernels/roi_align/roi_align_element.h"

namespace cellrt {
namespace {

bool valid_sizes(const RoiAlignParams& p) {
  return p.batch >= 0 && p.channels >= 0 && p.height >= 0 && p.width >= 0 && p.num_rois >= 0 &&
         p.pooled_h >= 1 && p.pooled_w >= 1;
}

// Uninitialised buffer (std::vector would zero-fill it, an extra pass over memory we overwrite).
template <typename T>
std::unique_ptr<T[]> alloc_uninit(int64_t n) {
  return std::unique_ptr<T[]>(new T[static_cast<size_t>(n > 0 ? n : 1)]);
}

// dst[b] = transpose(src[b]) for `batches` row-major (rows x cols) matrices, in tiles of
// tile_r x tile_c source elements. The inner loop writes the destination contiguously; the tile
// height bounds how many strided source lines are live at once. For the plane side of an NCHW map
// (source stride H*W, often a power of two, so all lines of a tile fall into one cache set) the
// tile must stay short (16 rows); for the pixel side of NHWC (stride C) 64 x 8 tiles measured best.
template <typename T>
void transpose_batched(const T* src, T* dst, int64_t batches, int64_t rows, int64_t cols,
                       int64_t tile_r, int64_t tile_c) {
  const int64_t tr = ceil_div(rows, tile_r), tc = ceil_div(cols, tile_c);
  const int64_t tiles = batches * tr * tc;
  // Dynamic: a thread descheduled on a shared machine does not hold up the others at the barrier.
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t b = t / (tr * tc);
    const int64_t r0 = (t / tc) % tr * tile_r, c0 = t % tc * tile_c;
    const int64_t r1 = std::min(r0 + tile_r, rows), c1 = std::min(c0 + tile_c, cols);
    const T* s = src + b * rows * cols;
    T* d = dst + b * rows * cols;
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t r = r0; r < r1; ++r) d[c * rows + r] = s[r * cols + c];
    }
  }
}

// (n, c, hw) -> (n, hw, c)
template <typename T>
void nchw_to_nhwc(const T* src, T* dst, int64_t n, int64_t c, int64_t hw) {
  transpose_batched(src, dst, n, c, hw, 16, 16);
}

// (n, hw, c) -> (n, c, hw)
template <typename T>
void nhwc_to_nchw(const T* src, T* dst, int64_t n, int64_t c, int64_t hw) {
  transpose_batched(src, dst, n, hw, c, 64, 8);
}

template <typename T>
void fill_parallel(T* dst, int64_t n, T value) {
  constexpr int64_t kChunk = int64_t{1} << 16;
  const int64_t chunks = ceil_div(n, kChunk);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t i = 0; i < chunks; ++i) {
    std::fill(dst + i * kChunk, dst + std::min(n, (i + 1) * kChunk), value);
  }
}

// Row stride (elements) of a scratch matrix with n-element rows: an odd number of 64-byte lines.
// Rows 2^k bytes apart (C = 256 floats is 1 KiB) all fall into a few cache sets, and the strided
// pass over such a matrix would then miss L1 on every access.
template <typename T>
int64_t padded_stride(int64_t n) {
  constexpr int64_t line = 64 / static_cast<int64_t>(sizeof(T));
  const int64_t lines = ceil_div(n, line);
  return (lines % 2 == 1 ? lines : lines + 1) * line;
}

// One map of a (multi)level call in channels-last layout; p carries its height, width and scale.
template <typename T>
struct NhwcMap {
  RoiAlignParams p;
  const T* data;  // (batch, height, width, channels)
};

// Sparse 1-D weights of one bin along one axis of n pixels: every pixel that one of the bin's
// in-range samples reads (both neighbours of each sample, also at weight 0, so that NaN and Inf
// pixels propagate exactly as through the element function), with the sample weights summed per
// pixel. Writes idx[0..m) and w[0..m), returns m. slot: n entries, all -1 on entry and on return.
template <typename T>
int64_t bin_axis_weights(T start, T bin_size, int64_t index, int64_t grid, int64_t n,
                         int64_t* slot, int64_t* idx, T* w) {
  int64_t m = 0;
  auto add = [&](int64_t j, T wj) {
    if (slot[j] < 0) {
      slot[j] = m;
      idx[m] = j;
      w[m++] = wj;
    } else {
      w[slot[j]] += wj;
    }
  };
  for (int64_t i = 0; i < grid; ++i) {
    const T v = roi_align_sample_coord(start, bin_size, index, i, grid);
    if (!roi_align_axis_in_range(n, v)) continue;
    const RoiAlignAxisTap<T> t = roi_align_axis_tap(n, v);
    add(t.lo, T(1) - t.frac);
    add(t.hi, t.frac);
  }
  for (int64_t k = 0; k < m; ++k) slot[idx[k]] = -1;
  return m;
}

template <typename V>
void grow(std::vector<V>& v, int64_t n, V fill = V()) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n), fill);
}

// Per-thread scratch of the forward. Buffers grow to the needs of the RoIs met (fit()).
template <typename T>
struct ForwardScratch {
  std::vector<T> acc;         // (bins, padded_stride(C)): bin sums, channels contiguous
  std::vector<T> rows;        // (union columns, C): vertical sums of one output row, per column
  std::vector<int64_t> slot;  // max(H, W) entries, all -1 between uses
  std::vector<int64_t> ridx;  // pixel rows of one output row's bins, and their weights
  std::vector<T> rw;
  std::vector<int64_t> cidx;  // (pooled_w, per_col): columns of each output column (then their
  std::vector<T> cw;          // position in the union), and their weights
  std::vector<int64_t> cnum;  // pooled_w
  std::vector<int64_t> cols;  // union of the columns of all output columns
  int64_t per_col = 0;

  // Sizes the buffers for RoI b of map p: a bin's samples read at most two pixels each per axis.
  // Throws std::bad_alloc.
  void fit(const RoiAlignParams& p, const RoiAlignBox<T>& b) {
    per_col = std::max<int64_t>(1, std::min(2 * b.grid_w, p.width));
    const int64_t per_row = std::max<int64_t>(1, std::min(2 * b.grid_h, p.height));
    const int64_t union_cols = std::min(p.pooled_w * per_col, p.width);
    grow(acc, p.pooled_h * p.pooled_w * padded_stride<T>(p.channels));
    grow(rows, union_cols * p.channels);
    grow(slot, std::max(p.height, p.width), int64_t{-1});
    grow(ridx, per_row);
    grow(rw, per_row);
    grow(cidx, p.pooled_w * per_col);
    grow(cw, p.pooled_w * per_col);
    grow(cnum, p.pooled_w);
    grow(cols, union_cols);
  }
};

// Forward of one RoI into out (channels, pooled_h, pooled_w), from a channels-last map.
//
// Bilinear sampling is separable and so is the in-range rule, so a bin's sum over its samples is
// sum_r Wy[r] * sum_q Wx[q] * v[r, q, :], where Wy and Wx hold the sample weights summed per row and
// per column (bin_axis_weights). For each output row the vertical sums over its rows are formed
// once per column and reused by all the bins of the row; each step is a weighted sum of contiguous
// C-vectors. This reads every pixel the element function reads, but needs several times fewer
// operations than applying four taps per sample; being summed in another order, results equal
// the element function's to rounding (a few ulp), not bit for bit.
template <typename T>
void forward_roi_nhwc(const NhwcMap<T>& m, const RoiAlignBox<T>& b, ForwardScratch<T>& s, T* out) {
  const RoiAlignParams& p = m.p;
  const int64_t C = p.channels, W = p.width, bins = p.pooled_h * p.pooled_w;
  const int64_t ldc = padded_stride<T>(C), stride = s.per_col;
  const T* base = m.data + b.batch * p.height * W * C;
  // Columns (and weights) of every output column; then their union, with each column entry
  // replaced by its position in the union (the row of `rows` holding that column's sums).
  for (int64_t pw = 0; pw < p.pooled_w; ++pw) {
    s.cnum[pw] = bin_axis_weights(b.start_w, b.bin_w, pw, b.grid_w, W, s.slot.data(),
                                  s.cidx.data() + pw * stride, s.cw.data() + pw * stride);
  }
  int64_t ncols = 0;
  for (int64_t pw = 0; pw < p.pooled_w; ++pw) {
    int64_t* ci = s.cidx.data() + pw * stride;
    for (int64_t k = 0; k < s.cnum[pw]; ++k) {
      int64_t& pos = s.slot[ci[k]];
      if (pos < 0) {
        pos = ncols;
        s.cols[ncols++] = ci[k];
      }
      ci[k] = pos;
    }
  }
  for (int64_t k = 0; k < ncols; ++k) s.slot[s.cols[k]] = -1;

  for (int64_t ph = 0; ph < p.pooled_h; ++ph) {
    const int64_t nrows = bin_axis_weights(b.start_h, b.bin_h, ph, b.grid_h, p.height,
                                           s.slot.data(), s.ridx.data(), s.rw.data());
    // rows[u] = sum over this output row's pixel rows r of Wy[r] * v[r, cols[u], :]
    if (nrows > 0) {
      for (int64_t u = 0; u < ncols; ++u) {
        const int64_t q = s.cols[u];
        T* __restrict t = s.rows.data() + u * C;
        const T* v = base + (s.ridx[0] * W + q) * C;
        const T w0 = s.rw[0];
        for (int64_t c = 0; c < C; ++c) t[c] = w0 * v[c];
        for (int64_t r = 1; r < nrows; ++r) {
          const T* vr = base + (s.ridx[r] * W + q) * C;
          const T wr = s.rw[r];
          for (int64_t c = 0; c < C; ++c) t[c] += wr * vr[c];
        }
      }
    }
    for (int64_t pw = 0; pw < p.pooled_w; ++pw) {
      T* __restrict a = s.acc.data() + (ph * p.pooled_w + pw) * ldc;
      const int64_t n = nrows > 0 ? s.cnum[pw] : 0;  // no valid sample: the bin is 0
      const int64_t* ci = s.cidx.data() + pw * stride;
      const T* cwt = s.cw.data() + pw * stride;
      if (n == 0) {
        std::fill(a, a + C, T(0));
        continue;
      }
      const T* t0 = s.rows.data() + ci[0] * C;
      for (int64_t c = 0; c < C; ++c) a[c] = cwt[0] * t0[c];
      for (int64_t k = 1; k < n; ++k) {
        const T* tk = s.rows.data() + ci[k] * C;
        const T wk = cwt[k];
        for (int64_t c = 0; c < C; ++c) a[c] += wk * tk[c];
      }
      for (int64_t c = 0; c < C; ++c) a[c] = a[c] / b.count;
    }
  }
  // (bins, C) -> (C, bins)
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t j = 0; j < bins; ++j) out[c * bins + j] = s.acc[j * ldc + c];
  }
}

// Forward over all RoIs; roi_level[k] picks the map of RoI k (nullptr: map 0; -1: zeros).
template <typename T>
Status forward_nhwc(const std::vector<NhwcMap<T>>& maps, const T* rois, const int64_t* roi_level,
                    T* output) {
  const RoiAlignParams& p = maps[0].p;
  const int64_t per_roi = p.channels * p.pooled_h * p.pooled_w;
  std::vector<ForwardScratch<T>> scratch;
  try {
    scratch.resize(static_cast<size_t>(max_threads()));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  bool out_of_memory = false;
#pragma omp parallel
  {
    ForwardScratch<T>& s = scratch[thread_id()];
#pragma omp for schedule(dynamic, 4)
    for (int64_t k = 0; k < p.num_rois; ++k) {
      const int64_t l = roi_level ? roi_level[k] : 0;
      T* out = output + k * per_roi;
      if (l < 0) {
        std::fill(out, out + per_roi, T(0));
        continue;
      }
      const RoiAlignBox<T> b = roi_align_box(maps[l].p, rois + 5 * k);
      try {  // no exception may leave an OpenMP region
        s.fit(maps[l].p, b);
      } catch (const std::bad_alloc&) {
#pragma omp atomic write
        out_of_memory = true;
        continue;
      }
      forward_roi_nhwc(maps[l], b, s, out);
    }
  }
  return out_of_memory ? Status::kOutOfMemory : Status::kOk;
}

// Backward over all RoIs into zeroed channels-last gradients grads[l] (one per map).
//
// RoIs are grouped by (map, batch) with a stable counting sort, and the work is split into
// (group, channel block) tasks: two tasks never write the same gradient element, so there are no
// atomics, and every element receives its contributions in ascending RoI order, exactly as a
// sequential element loop would add them (deterministic whatever the thread count).
template <typename T>
Status backward_nhwc(const std::vector<NhwcMap<T>>& maps, const std::vector<T*>& grads,
                     const T* grad_output, const T* rois, const int64_t* roi_level) {
  const RoiAlignParams& p = maps[0].p;
  const int64_t C = p.channels, bins = p.pooled_h * p.pooled_w, K = p.num_rois;
  const int64_t groups = static_cast<int64_t>(maps.size()) * p.batch;
  const int threads = max_threads();

  std::vector<int64_t> group_start, order;
  std::vector<int64_t> active;  // non-empty groups
  std::unique_ptr<T[]> scratch;
  int64_t block = 0;
  try {
    group_start.assign(static_cast<size_t>(groups + 1), 0);
    order.resize(static_cast<size_t>(K));
    auto group_of = [&](int64_t k) -> int64_t {
      const int64_t l = roi_level ? roi_level[k] : 0;
      return l < 0 ? -1 : l * p.batch + static_cast<int64_t>(rois[5 * k]);
    };
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = group_of(k);
      if (g >= 0) ++group_start[g + 1];
    }
    for (int64_t g = 0; g < groups; ++g) group_start[g + 1] += group_start[g];
    std::vector<int64_t> next(group_start.begin(), group_start.end() - 1);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t g = group_of(k);
      if (g >= 0) order[next[g]++] = k;
    }
    for (int64_t g = 0; g < groups; ++g) {
      if (group_start[g + 1] > group_start[g]) active.push_back(g);
    }
    // Enough tasks to balance the threads (about 4 per thread), in channel blocks of >= 16
    // (a 64-byte line of floats, so neighbouring tasks rarely share a cache line).
    const int64_t want = ceil_div(4 * int64_t{threads}, std::max<int64_t>(1, active.size()));
    const int64_t max_blocks = std::max<int64_t>(1, ceil_div(C, 16));
    block = ceil_div(ceil_div(C, std::min(want, max_blocks)), 16) * 16;
    scratch = alloc_uninit<T>(bins * padded_stride<T>(block) * threads);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  const int64_t nblocks = ceil_div(C, block);
  const int64_t tasks = static_cast<int64_t>(active.size()) * nblocks;
  T* const scratch_base = scratch.get();

#pragma omp parallel
  {
    T* gs_all = scratch_base + thread_id() * bins * padded_stride<T>(block);
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t g = active[task / nblocks];
      const int64_t c0 = task % nblocks * block;
      const int64_t cw = std::min(block, C - c0);
      const int64_t ldg = padded_stride<T>(cw);
      const int64_t l = g / p.batch;
      const RoiAlignParams& lp = maps[l].p;
      T* grad = grads[l];
      for (int64_t q = group_start[g]; q < group_start[g + 1]; ++q) {
        const int64_t k = order[q];
        const RoiAlignBox<T> b = roi_align_box(lp, rois + 5 * k);
        // grad_output[k, c0:c0+cw, :, :] -> (bins, cw), divided by the count first, as the
        // element function does.
        const T* go = grad_output + (k * C + c0) * bins;
        for (int64_t c = 0; c < cw; ++c) {
          for (int64_t j = 0; j < bins; ++j) gs_all[j * ldg + c] = go[c * bins + j];
        }
        for (int64_t j = 0; j < bins; ++j) {
          T* __restrict gj = gs_all + j * ldg;
          for (int64_t c = 0; c < cw; ++c) gj[c] = gj[c] / b.count;
        }
        T* base = grad + b.batch * lp.height * lp.width * C + c0;
        for (int64_t ph = 0; ph < lp.pooled_h; ++ph) {
          for (int64_t pw = 0; pw < lp.pooled_w; ++pw) {
            const T* __restrict gs = gs_all + (ph * lp.pooled_w + pw) * ldg;
            for (int64_t iy = 0; iy < b.grid_h; ++iy) {
              const T y = roi_align_sample_coord(b.start_h, b.bin_h, ph, iy, b.grid_h);
              for (int64_t ix = 0; ix < b.grid_w; ++ix) {
                const T x = roi_align_sample_coord(b.start_w, b.bin_w, pw, ix, b.grid_w);
                RoiAlignTaps<T> t;
                if (!roi_align_taps(lp.height, lp.width, y, x, t)) continue;
                // Four separate passes, in the element function's tap order: two taps can be the
                // same pixel at the map border, and each pass must see the previous one's sum.
                T* __restrict d1 = base + t.o1 * C;
                for (int64_t c = 0; c < cw; ++c) d1[c] += gs[c] * t.w1;
                T* __restrict d2 = base + t.o2 * C;
                for (int64_t c = 0; c < cw; ++c) d2[c] += gs[c] * t.w2;
                T* __restrict d3 = base + t.o3 * C;
                for (int64_t c = 0; c < cw; ++c) d3[c] += gs[c] * t.w3;
                T* __restrict d4 = base + t.o4 * C;
                for (int64_t c = 0; c < cw; ++c) d4[c] += gs[c] * t.w4;
              }
            }
          }
        }
      }
    }
  }
  return Status::kOk;
}

template <typename T>
NhwcMap<T> level_map(const RoiAlignParams& p, const RoiAlignLevel& level, const T* data) {
  RoiAlignParams lp = p;
  lp.height = level.height;
  lp.width = level.width;
  lp.spatial_scale = level.spatial_scale;
  return NhwcMap<T>{lp, data};
}

// Forward for maps given in NCHW: transposes each to a channels-last copy in the workspace first.
template <typename T>
Status forward_nchw(const RoiAlignParams& p, const std::vector<RoiAlignLevel>& levels,
                    const T* const* features, const T* rois, const int64_t* roi_level, T* output,
                    T* workspace) {
  std::vector<NhwcMap<T>> maps;
  T* copy = workspace;
  for (size_t l = 0; l < levels.size(); ++l) {
    const int64_t hw = levels[l].height * levels[l].width;
    nchw_to_nhwc(features[l], copy, p.batch, p.channels, hw);
    maps.push_back(level_map(p, levels[l], static_cast<const T*>(copy)));
    copy += p.batch * p.channels * hw;
  }
  return forward_nhwc(maps, rois, roi_level, output);
}

// Backward into channels-last gradients in the workspace, transposed to NCHW at the end.
template <typename T>
Status backward_nchw(const RoiAlignParams& p, const std::vector<RoiAlignLevel>& levels,
                     const T* grad_output, const T* rois, const int64_t* roi_level,
                     T* const* grad_features, T* workspace) {
  std::vector<NhwcMap<T>> maps;
  std::vector<T*> grads;
  T* grad = workspace;
  for (size_t l = 0; l < levels.size(); ++l) {
    const int64_t numel = p.batch * p.channels * levels[l].height * levels[l].width;
    fill_parallel(grad, numel, T(0));
    maps.push_back(level_map<T>(p, levels[l], nullptr));
    grads.push_back(grad);
    grad += numel;
  }
  const Status s = backward_nhwc(maps, grads, grad_output, rois, roi_level);
  if (s != Status::kOk) return s;
  for (size_t l = 0; l < levels.size(); ++l) {
    nhwc_to_nchw(static_cast<const T*>(grads[l]), grad_features[l], p.batch, p.channels,
                 levels[l].height * levels[l].width);
  }
  return Status::kOk;
}

bool valid_fpn(const RoiAlignFpnParams& fpn) { return fpn.num_levels >= 1; }

bool valid_multilevel(const RoiAlignParams& p, const RoiAlignFpnParams& fpn,
                      const RoiAlignLevel* levels) {
  if (!valid_sizes(p) || !valid_fpn(fpn)) return false;
  for (int64_t l = 0; l < fpn.num_levels; ++l) {
    if (levels[l].height < 1 || levels[l].width < 1) return false;
  }
  return true;
}

// The FPN level of every RoI, for the multi-level drivers.
template <typename T>
Status fpn_roi_levels(const RoiAlignParams& p, const RoiAlignFpnParams& fpn, const T* rois,
                      std::vector<int64_t>& roi_level) {
  try {
    roi_level.resize(static_cast<size_t>(p.num_rois));
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return roi_align_fpn_levels_cpu(fpn, p.num_rois, rois, roi_level.data());
}

}  // namespace

int64_t roi_align_cpu_workspace_size(const RoiAlignParams& p, bool channels_last) {
  return channels_last ? 0 : p.batch * p.channels * p.height * p.width;
}

int64_t multilevel_roi_align_cpu_workspace_size(const RoiAlignParams& p,
                                                const RoiAlignFpnParams& fpn,
                                                const RoiAlignLevel* levels) {
  int64_t n = 0;
  for (int64_t l = 0; l < fpn.num_levels; ++l) {
    n += p.batch * p.channels * levels[l].height * levels[l].width;
  }
  return n;
}

template <typename T>
Status roi_align_forward_cpu(const RoiAlignParams& p, const T* input, bool channels_last,
                             const T* rois, T* output, T* workspace) {
  if (!valid_sizes(p) || p.height < 1 || p.width < 1) return Status::kInvalidArgument;
  if (p.num_rois == 0 || p.channels == 0) return Status::kOk;
  const RoiAlignLevel level{p.height, p.width, p.spatial_scale};
  if (channels_last) {
    return forward_nhwc(std::vector<NhwcMap<T>>{level_map(p, level, input)}, rois, nullptr, output);
  }
  return forward_nchw(p, std::vector<RoiAlignLevel>{level}, &input, rois, nullptr, output,
                      workspace);
}

template <typename T>
Status roi_align_backward_cpu(const RoiAlignParams& p, const T* grad_output, const T* rois,
                              T* grad_input, T* workspace) {
  if (!valid_sizes(p) || p.height < 1 || p.width < 1) return Status::kInvalidArgument;
  const int64_t numel = p.batch * p.channels * p.height * p.width;
  if (p.num_rois == 0 || numel == 0) {
    fill_parallel(grad_input, numel, T(0));
    return Status::kOk;
  }
  const RoiAlignLevel level{p.height, p.width, p.spatial_scale};
  return backward_nchw(p, std::vector<RoiAlignLevel>{level}, grad_output, rois, nullptr,
                       &grad_input, workspace);
}

template <typename T>
Status roi_align_fpn_levels_cpu(const RoiAlignFpnParams& fpn, int64_t num_rois, const T* rois,
                                int64_t* levels) {
  if (!valid_fpn(fpn) || num_rois < 0) return Status::kInvalidArgument;
  for (int64_t k = 0; k < num_rois; ++k) levels[k] = roi_align_fpn_level(fpn, rois + 5 * k);
  return Status::kOk;
}

template <typename T>
Status multilevel_roi_align_forward_cpu(const RoiAlignParams& p, const RoiAlignFpnParams& fpn,
                                        const RoiAlignLevel* levels, const T* const* features,
                                        const T* rois, T* output, T* workspace) {
  if (!valid_multilevel(p, fpn, levels)) return Status::kInvalidArgument;
  if (p.num_rois == 0 || p.channels == 0) return Status::kOk;
  std::vector<int64_t> roi_level;
  const Status s = fpn_roi_levels(p, fpn, rois, roi_level);
  if (s != Status::kOk) return s;
  return forward_nchw(p, std::vector<RoiAlignLevel>(levels, levels + fpn.num_levels), features,
                      rois, roi_level.data(), output, workspace);
}

template <typename T>
Status multilevel_roi_align_backward_cpu(const RoiAlignParams& p, const RoiAlignFpnParams& fpn,
                                         const RoiAlignLevel* levels, const T* grad_output,
                                         const T* rois, T* const* grad_features, T* workspace) {
  if (!valid_multilevel(p, fpn, levels)) return Status::kInvalidArgument;
  if (p.num_rois == 0 || p.channels == 0 || p.batch == 0) {
    for (int64_t l = 0; l < fpn.num_levels; ++l) {
      fill_parallel(grad_features[l], p.batch * p.channels * levels[l].height * levels[l].width,
                    T(0));
    }
    return Status::kOk;
  }
  std::vector<int64_t> roi_level;
  const Status s = fpn_roi_levels(p, fpn, rois, roi_level);
  if (s != Status::kOk) return s;
  return backward_nchw(p, std::vector<RoiAlignLevel>(levels, levels + fpn.num_levels),
                       grad_output, rois, roi_level.data(), grad_features, workspace);
}

template <typename T>
Status roi_align_forward_elements_cpu(const RoiAlignParams& p, const T* input, const T* rois,
                                      T* output) {
  if (!valid_sizes(p) || p.height < 1 || p.width < 1) return Status::kInvalidArgument;
  const int64_t n = p.num_rois * p.channels * p.pooled_h * p.pooled_w;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) output[i] = roi_align_forward_element(p, input, rois, i);
  return Status::kOk;
}

template <typename T>
Status roi_align_backward_elements_cpu(const RoiAlignParams& p, const T* grad_output,
                                       const T* rois, T* grad_input, const int64_t* order,
                                       int64_t order_size) {
  if (!valid_sizes(p) || p.height < 1 || p.width < 1) return Status::kInvalidArgument;
  const int64_t n = p.num_rois * p.channels * p.pooled_h * p.pooled_w;
  fill_parallel(grad_input, p.batch * p.channels * p.height * p.width, T(0));
  if (order != nullptr) {
    if (order_size != n) return Status::kInvalidArgument;
    for (int64_t j = 0; j < n; ++j) {
      if (order[j] < 0 || order[j] >= n) return Status::kInvalidArgument;
      roi_align_backward_element(p, grad_output, rois, grad_input, order[j]);
    }
    return Status::kOk;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) roi_align_backward_element(p, grad_output, rois, grad_input, i);
  return Status::kOk;
}

#define CELLRT_ROI_ALIGN_CPU(T)                                                                    \
  template Status roi_align_forward_cpu<T>(const RoiAlignParams&, const T*, bool, const T*, T*,   \
                                           T*);                                                   \
  template Status roi_align_backward_cpu<T>(const RoiAlignParams&, const T*, const T*, T*, T*);   \
  template Status roi_align_fpn_levels_cpu<T>(const RoiAlignFpnParams&, int64_t, const T*,        \
                                              int64_t*);                                          \
  template Status multilevel_roi_align_forward_cpu<T>(const RoiAlignParams&,                      \
                                                      const RoiAlignFpnParams&,                   \
                                                      const RoiAlignLevel*, const T* const*,      \
                                                      const T*, T*, T*);                          \
  template Status multilevel_roi_align_backward_cpu<T>(const RoiAlignParams&,                     \
                                                       const RoiAlignFpnParams&,                  \
                                                       const RoiAlignLevel*, const T*, const T*,  \
                                                       T* const*, T*);                            \
  template Status roi_align_forward_elements_cpu<T>(const RoiAlignParams&, const T*, const T*,    \
                                                    T*);                                          \
  template Status roi_align_backward_elements_cpu<T>(const RoiAlignParams&, const T*, const T*,   \
                                                     T*, const int64_t*, int64_t);

CELLRT_ROI_ALIGN_CPU(float)
CELLRT_ROI_ALIGN_CPU(double)
#undef CELLRT_ROI_ALIGN_CPU

}  // namespace cellrt
