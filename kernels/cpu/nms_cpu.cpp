// nms CPU driver: greedy NMS whose candidates are found through a uniform spatial grid.
//
// Greedy NMS keeps box j (in descending-score order) iff no previously kept box suppresses it.
// torchvision tests every kept box against every later box: O(N^2) on dense detections. Here the
// sweep goes through the boxes in the same order, but a candidate is only tested against the kept
// boxes registered in the grid cells its extent covers. For iou_threshold >= 0 a pair can only
// suppress when the two boxes' interiors overlap in x and in y (see nms_suppresses), and two such
// boxes always share a cell, because the cell index is a monotone function of the coordinate.
// The order and the pairwise test are unchanged, so the keep list is exactly torchvision's.
//
// Cost: one sort (radix) plus O(N * kept boxes per neighbourhood) tests. Negative
// thresholds suppress even disjoint boxes (IoU 0 > threshold), so they use the plain greedy scan
// against all kept boxes, which stays O(N) there (see greedy_scan). Categories of batched_nms are
// independent sweeps, run in parallel for large inputs.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <new>
#include <random>
#include <utility>
#include <vector>

#include "cellrt/kernels/nms/nms.h"

namespace cellrt {
namespace {

// Ascending order of this key is torch.sort(descending=True) order of the scores: NaN first, then
// +inf ... -inf; -0.0 and +0.0 are equal (ties are then broken by index).
uint64_t descending_key(double s) {
  if (std::isnan(s)) return 0;
  if (s == 0.0) s = 0.0;
  const uint64_t bits = std::bit_cast<uint64_t>(s);
  const uint64_t ascending = (bits >> 63) ? ~bits : (bits | (uint64_t{1} << 63));
  return ~ascending;  // > 0 for every non-NaN value, so NaN stays first
}

struct SortItem {
  uint64_t key;
  int64_t idx;
};

// Stable LSD radix sort of v by key_of(item) (uint64), 11-bit digits. Digits on which all keys
// agree are skipped: float32 scores widened to double leave the low 29 key bits constant, small
// category ids leave the high bits constant. Stability is what breaks ties by lower index: callers
// pass items in index order (or already sorted by a less significant key).
template <typename KeyOf>
void radix_sort(std::vector<SortItem>& v, KeyOf key_of) {
  constexpr int kBits = 11;
  constexpr int kDigits = (64 + kBits - 1) / kBits;
  constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;
  const int64_t n = static_cast<int64_t>(v.size());
  if (n < 2) return;
  std::vector<int64_t> hist(static_cast<size_t>(kDigits) << kBits, 0);
  for (const SortItem& it : v) {
    const uint64_t k = key_of(it);
    for (int d = 0; d < kDigits; ++d) ++hist[(d << kBits) + ((k >> (d * kBits)) & kMask)];
  }
  std::vector<SortItem> buf(v.size());
  for (int d = 0; d < kDigits; ++d) {
    int64_t* h = hist.data() + (d << kBits);
    if (std::find(h, h + (int64_t{1} << kBits), n) != h + (int64_t{1} << kBits)) continue;
    int64_t sum = 0;
    for (int64_t b = 0; b <= static_cast<int64_t>(kMask); ++b) sum += std::exchange(h[b], sum);
    for (const SortItem& it : v) buf[h[(key_of(it) >> (d * kBits)) & kMask]++] = it;
    v.swap(buf);
  }
}

void sort_by_score(std::vector<SortItem>& v) {
  radix_sort(v, [](const SortItem& it) { return it.key; });
}

// A kept box as the sweep stores it: coordinates, area and the next node of the same grid cell.
template <typename T>
struct KeptNode {
  T b[4];
  T area;
  int64_t next;
};

// Boxes that can take part in a suppression when iou_threshold >= 0: finite corners, positive
// width and height, finite non-zero area (see nms_suppresses). All others are always kept.
template <typename T>
bool can_overlap(const T* b, T area) {
  return b[0] < b[2] && b[1] < b[3] && std::isfinite(b[0]) && std::isfinite(b[1]) &&
         std::isfinite(b[2]) && std::isfinite(b[3]) && std::isfinite(area) && area > T(0);
}

// Plain greedy scan: each candidate against the kept boxes. Used for negative (or -inf)
// thresholds and tiny groups. Two exact shortcuts keep it linear on degenerate inputs:
// - a box with a NaN area has a NaN IoU with every box: it is kept and never needs testing;
// - all kept boxes of exactly zero area act alike (their intersection with anything is 0 and the
//   union is the other box's area), so only the first one is stored.
// With a negative threshold the first kept box of non-zero area then suppresses every later box
// except NaN-area ones, so the kept list stays tiny.
template <typename T>
int64_t greedy_scan(const T* boxes, const int64_t* ord, int64_t m, double thr, int64_t* out) {
  std::vector<KeptNode<T>> kept;
  bool have_zero_area = false;
  int64_t count = 0;
  for (int64_t q = 0; q < m; ++q) {
    const T* c = boxes + 4 * ord[q];
    const T area = nms_box_area(c);
    if (std::isnan(area)) {
      out[count++] = ord[q];
      continue;
    }
    bool suppressed = false;
    for (const auto& k : kept) {
      if (nms_suppresses(k.b, k.area, c, area, thr)) {
        suppressed = true;
        break;
      }
    }
    if (suppressed) continue;
    out[count++] = ord[q];
    if (area == T(0)) {
      if (have_zero_area) continue;
      have_zero_area = true;
    }
    kept.push_back({{c[0], c[1], c[2], c[3]}, area, -1});
  }
  return count;
}

// Value at quantile q of v (partially reorders v).
double quantile(std::vector<double>& v, double q) {
  const auto k = static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

// Uniform grid over the plane. Cells are square (side `cell`, coordinate units); coordinates
// outside [x0, x0 + gx * cell) clamp to the border cells, which keeps the mapping monotone.
struct Grid {
  double x0 = 0, y0 = 0, inv_cell = 1;
  int64_t gx = 1, gy = 1;

  int64_t cx(double x) const { return cell_of(x, x0, gx); }
  int64_t cy(double y) const { return cell_of(y, y0, gy); }
  int64_t cell_of(double v, double origin, int64_t g) const {
    const double c = std::floor((v - origin) * inv_cell);  // +-inf for huge doubles: clamped
    return c <= 0.0 ? 0 : (c >= static_cast<double>(g - 1) ? g - 1 : static_cast<int64_t>(c));
  }
};

// Cell side = median box extent, so a typical box covers at most 2 x 2 cells and a cell holds a
// handful of kept boxes. The cell count is capped near the number of boxes; if outliers stretch
// the extent beyond that, the grid spans the central 99.6% of the boxes and clamps the rest.
template <typename T>
Grid make_grid(const T* boxes, const int64_t* ord, int64_t m) {
  constexpr int64_t kSample = 4096;
  const int64_t stride = std::max<int64_t>(1, m / kSample);
  std::vector<double> sizes;
  double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
  int64_t active = 0;
  for (int64_t q = 0; q < m; ++q) {
    const T* b = boxes + 4 * ord[q];
    if (!can_overlap(b, nms_box_area(b))) continue;
    ++active;
    lo_x = std::min<double>(lo_x, b[0]);
    lo_y = std::min<double>(lo_y, b[1]);
    hi_x = std::max<double>(hi_x, b[2]);
    hi_y = std::max<double>(hi_y, b[3]);
    if (q % stride == 0) {
      sizes.push_back(std::max<double>(double(b[2]) - double(b[0]), double(b[3]) - double(b[1])));
    }
  }
  Grid g;
  if (active == 0) return g;
  double cell = sizes.empty() ? 1.0 : quantile(sizes, 0.5);
  const double max_cells = static_cast<double>(std::max<int64_t>(64, 2 * active));
  auto cells_for = [&](double c) {
    return std::ceil((hi_x - lo_x) / c + 1) * std::ceil((hi_y - lo_y) / c + 1);
  };
  if (!(cells_for(cell) <= max_cells)) {
    // Outliers (or a huge extent): drop the outer 0.2% per side from the extent, then grow cells.
    std::vector<double> v;
    v.reserve(static_cast<size_t>(active));
    auto q_of = [&](int c, double q) {
      v.clear();
      for (int64_t k = 0; k < m; ++k) {
        const T* b = boxes + 4 * ord[k];
        if (can_overlap(b, nms_box_area(b))) v.push_back(b[c]);
      }
      return quantile(v, q);
    };
    lo_x = q_of(0, 0.002);
    lo_y = q_of(1, 0.002);
    hi_x = std::max(q_of(2, 0.998), lo_x);
    hi_y = std::max(q_of(3, 0.998), lo_y);
    for (int it = 0; it < 64 && !(cells_for(cell) <= max_cells); ++it) {
      cell = std::max(cell * 2, std::max(hi_x - lo_x, hi_y - lo_y) / std::sqrt(max_cells));
    }
  }
  if (!(cell > 0) || !std::isfinite(cell)) cell = 1.0;
  const double span_x = (hi_x - lo_x) / cell, span_y = (hi_y - lo_y) / cell;
  g.x0 = lo_x;
  g.y0 = lo_y;
  g.inv_cell = 1.0 / cell;
  if (!std::isfinite(g.inv_cell) || !(g.inv_cell > 0)) g.inv_cell = 1.0;
  g.gx = std::isfinite(span_x) && span_x < max_cells ? static_cast<int64_t>(span_x) + 1 : 1;
  g.gy = std::isfinite(span_y) && span_y < max_cells ? static_cast<int64_t>(span_y) + 1 : 1;
  if (static_cast<double>(g.gx) * static_cast<double>(g.gy) > 4 * max_cells) g.gx = g.gy = 1;
  return g;
}

// Greedy NMS over the boxes ord[0..m) (already in greedy order, one category). Writes the kept box
// indices, in order, to out and returns their count.
template <typename T>
int64_t greedy_sweep(const T* boxes, const int64_t* ord, int64_t m, double thr, int64_t* out) {
  // Negative thresholds suppress disjoint boxes too, so locality does not apply; NaN suppresses
  // nothing and takes the grid path (every comparison is false).
  constexpr int64_t kSmall = 32;
  if (thr < 0.0 || m <= kSmall) return greedy_scan(boxes, ord, m, thr, out);

  // A box covering more cells than this is not registered cell by cell: as a kept box it goes to
  // `big` (tested by every candidate), as a candidate it is tested against every kept box.
  constexpr int64_t kMaxCellsPerBox = 64;
  const Grid g = make_grid(boxes, ord, m);
  std::vector<int64_t> head(static_cast<size_t>(g.gx * g.gy), -1);
  std::vector<KeptNode<T>> nodes;  // grid cell lists
  std::vector<KeptNode<T>> kept;   // every kept box that can overlap
  std::vector<int64_t> big;        // indices into kept
  nodes.reserve(static_cast<size_t>(m));
  kept.reserve(static_cast<size_t>(m / 4 + 16));

  int64_t count = 0;
  for (int64_t q = 0; q < m; ++q) {
    const T* c = boxes + 4 * ord[q];
    const T area = nms_box_area(c);
    if (!can_overlap(c, area)) {  // can neither be suppressed nor suppress
      out[count++] = ord[q];
      continue;
    }
    const int64_t cx0 = g.cx(c[0]), cx1 = g.cx(c[2]), cy0 = g.cy(c[1]), cy1 = g.cy(c[3]);
    const bool wide = (cx1 - cx0 + 1) * (cy1 - cy0 + 1) > kMaxCellsPerBox;
    bool suppressed = false;
    if (wide) {
      for (const auto& k : kept) {
        if (nms_suppresses(k.b, k.area, c, area, thr)) {
          suppressed = true;
          break;
        }
      }
    } else {
      for (int64_t y = cy0; y <= cy1 && !suppressed; ++y) {
        for (int64_t x = cx0; x <= cx1 && !suppressed; ++x) {
          for (int64_t k = head[y * g.gx + x]; k >= 0; k = nodes[k].next) {
            if (nms_suppresses(nodes[k].b, nodes[k].area, c, area, thr)) {
              suppressed = true;
              break;
            }
          }
        }
      }
      for (size_t k = 0; k < big.size() && !suppressed; ++k) {
        suppressed = nms_suppresses(kept[big[k]].b, kept[big[k]].area, c, area, thr);
      }
    }
    if (suppressed) continue;
    out[count++] = ord[q];
    const KeptNode<T> node{{c[0], c[1], c[2], c[3]}, area, -1};
    kept.push_back(node);
    if (wide) {
      big.push_back(static_cast<int64_t>(kept.size()) - 1);
      continue;
    }
    for (int64_t y = cy0; y <= cy1; ++y) {
      for (int64_t x = cx0; x <= cx1; ++x) {
        nodes.push_back(node);
        nodes.back().next = head[y * g.gx + x];
        head[y * g.gx + x] = static_cast<int64_t>(nodes.size()) - 1;
      }
    }
  }
  return count;
}

// Categories are swept in parallel only for inputs this large: a sweep of 20k boxes takes about a
// millisecond, less than a parallel region can cost when a worker thread is descheduled on a busy
// machine (measured: 1.6 ms serial vs 16 ms with 2 threads under load at 20k boxes).
constexpr int64_t kParallelMinBoxes = int64_t{1} << 17;

template <typename T>
void batched_nms_cpu_impl(const NmsParams& p, const T* boxes, const double* scores,
                          const int64_t* idxs, int64_t* keep, int64_t* num_keep) {
  const int64_t n = p.n;
  // Group by category (stable sort by category of the greedy order), each group in greedy order;
  // the groups are independent and run in parallel.
  std::vector<SortItem> items(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) items[i] = {descending_key(scores[i]), i};
  sort_by_score(items);
  radix_sort(items, [idxs](const SortItem& it) {
    return static_cast<uint64_t>(idxs[it.idx]) ^ (uint64_t{1} << 63);  // signed order
  });
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) {
    order[i] = items[i].idx;
    if (i == 0 || idxs[order[i]] != idxs[order[i - 1]]) starts.push_back(i);
  }
  starts.push_back(n);
  const int64_t groups = static_cast<int64_t>(starts.size()) - 1;
  std::vector<int64_t> kept_in(static_cast<size_t>(n));
  std::vector<int64_t> counts(static_cast<size_t>(groups));
  bool failed = false;
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(dynamic, 1) if (groups > 1 && n >= kParallelMinBoxes)
#endif
  for (int64_t gi = 0; gi < groups; ++gi) {
    try {  // exceptions must not leave an OpenMP region
      counts[gi] = greedy_sweep(boxes, order.data() + starts[gi], starts[gi + 1] - starts[gi],
                                p.iou_threshold, kept_in.data() + starts[gi]);
    } catch (...) {
#if defined(CELLRT_WITH_OPENMP)
#pragma omp atomic write
#endif
      failed = true;
    }
  }
  if (failed) throw std::bad_alloc();
  // Output order is the global greedy order over all categories: kept boxes in index order, then
  // the stable score sort.
  std::vector<uint8_t> kept_flag(static_cast<size_t>(n), 0);
  for (int64_t gi = 0; gi < groups; ++gi) {
    for (int64_t k = 0; k < counts[gi]; ++k) kept_flag[kept_in[starts[gi] + k]] = 1;
  }
  std::vector<SortItem> kept;
  for (int64_t i = 0; i < n; ++i) {
    if (kept_flag[i]) kept.push_back({descending_key(scores[i]), i});
  }
  sort_by_score(kept);
  for (size_t k = 0; k < kept.size(); ++k) keep[k] = kept[k].idx;
  *num_keep = static_cast<int64_t>(kept.size());
}

}  // namespace

Status nms_sort_order_cpu(int64_t n, const double* scores, int64_t* order) {
  if (n < 0 || (n > 0 && (scores == nullptr || order == nullptr))) return Status::kInvalidArgument;
  try {
    std::vector<SortItem> items(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) items[i] = {descending_key(scores[i]), i};
    sort_by_score(items);
    for (int64_t i = 0; i < n; ++i) order[i] = items[i].idx;
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

template <typename T>
Status nms_cpu(const NmsParams& p, const T* boxes, const double* scores, const int64_t* idxs,
               int64_t* keep, int64_t* num_keep) {
  if (p.n < 0 || num_keep == nullptr) return Status::kInvalidArgument;
  *num_keep = 0;
  if (p.n == 0) return Status::kOk;
  if (boxes == nullptr || scores == nullptr || keep == nullptr) return Status::kInvalidArgument;
  try {
    if (idxs != nullptr) {
      batched_nms_cpu_impl(p, boxes, scores, idxs, keep, num_keep);
      return Status::kOk;
    }
    std::vector<int64_t> order(static_cast<size_t>(p.n));
    const Status s = nms_sort_order_cpu(p.n, scores, order.data());
    if (s != Status::kOk) return s;
    *num_keep = greedy_sweep(boxes, order.data(), p.n, p.iou_threshold, keep);
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

Status nms_reduce_mask(const uint64_t* mask, int64_t n, int64_t col_blocks, int64_t* keep_pos,
                       int64_t* num_keep) {
  if (n < 0 || num_keep == nullptr || col_blocks != ceil_div(n, kNmsBlock)) {
    return Status::kInvalidArgument;
  }
  *num_keep = 0;
  if (n == 0) return Status::kOk;
  if (mask == nullptr || keep_pos == nullptr) return Status::kInvalidArgument;
  try {
    std::vector<uint64_t> removed(static_cast<size_t>(col_blocks), 0);
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t blk = i / kNmsBlock;
      if (removed[blk] & (uint64_t{1} << (i % kNmsBlock))) continue;
      keep_pos[count++] = i;
      // Row i only has bits for later boxes, i.e. in words blk and after.
      const uint64_t* row = mask + i * col_blocks;
      for (int64_t c = blk; c < col_blocks; ++c) removed[c] |= row[c];
    }
    *num_keep = count;
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

template <typename T>
Status nms_mask_emulate_cpu(const NmsParams& p, const T* sorted_boxes, const int64_t* sorted_idxs,
                            uint64_t* mask, NmsEmulationOrder order, uint64_t seed) {
  if (p.n < 0 || p.n > kNmsMaxMaskBoxes || p.col_blocks != ceil_div(p.n, kNmsBlock)) {
    return Status::kInvalidArgument;
  }
  if (p.n == 0) return Status::kOk;
  if (sorted_boxes == nullptr || mask == nullptr) return Status::kInvalidArgument;
  try {
    // The work units of nms_mask_cuda: block b walks tiles b, b + blocks, ...; in each tile thread
    // t computes row rb * kNmsBlock + t against the tile's column block.
    const NmsMaskLaunch c = nms_mask_launch_config(p.n);
    std::vector<std::pair<int64_t, int64_t>> units;  // (tile, thread)
    for (int64_t b = 0; b < c.blocks; ++b) {
      for (int64_t tile = b; tile < c.tiles; tile += c.blocks) {
        for (int64_t t = 0; t < c.threads; ++t) units.emplace_back(tile, t);
      }
    }
    if (order == NmsEmulationOrder::kReversed) std::reverse(units.begin(), units.end());
    if (order == NmsEmulationOrder::kShuffled) {
      std::mt19937_64 rng(seed);
      std::shuffle(units.begin(), units.end(), rng);
    }
    std::vector<uint8_t> writes(static_cast<size_t>(nms_mask_words(p.n)), 0);
    for (const auto& [tile, t] : units) {
      int64_t rb = 0, cb = 0;
      nms_tile_coords(tile, c.col_blocks, &rb, &cb);
      const int64_t i = rb * kNmsBlock + t;
      if (i >= p.n) continue;
      const int64_t w = i * p.col_blocks + cb;
      ++writes[w];
      // The "staged" column block is read in place from the sorted (global) arrays.
      mask[w] = nms_mask_word(p, sorted_boxes + 4 * i, sorted_idxs ? sorted_idxs[i] : 0,
                              sorted_boxes + 4 * cb * kNmsBlock,
                              sorted_idxs ? sorted_idxs + cb * kNmsBlock : nullptr, i, cb);
    }
    for (uint8_t k : writes) {
      if (k != 1) return Status::kInvalidArgument;
    }
  } catch (const std::bad_alloc&) {
    return Status::kOutOfMemory;
  }
  return Status::kOk;
}

#define CELLRT_NMS_INSTANTIATE(T)                                                             \
  template Status nms_cpu<T>(const NmsParams&, const T*, const double*, const int64_t*,       \
                             int64_t*, int64_t*);                                             \
  template Status nms_mask_emulate_cpu<T>(const NmsParams&, const T*, const int64_t*,         \
                                          uint64_t*, NmsEmulationOrder, uint64_t);
CELLRT_NMS_INSTANTIATE(float)
CELLRT_NMS_INSTANTIATE(double)
#undef CELLRT_NMS_INSTANTIATE

}  // namespace cellrt
