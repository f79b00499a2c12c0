// label family, CPU drivers.
//
// Connected components use a different algorithm from the GPU (which is pixel-parallel union-find,
// label_element.h): a run-based two-scan labelling. Pass 1 cuts every row into runs of foreground
// pixels (64 pixels per step via a bit mask) and gives each run a provisional label, joining the
// labels of runs that touch a run of the row above in a union-find whose root is always the
// smallest label. Runs are labelled in raster order, so a set's root is its component's first run.
// Pass 2 writes the flattened labels run by run. Large images (kParallelMinPixels) are cut into one
// row strip per thread; strips are labelled independently, then joined along their boundary rows.
// fill_holes labels the background of a label image with the same passes. The test suite compares
// these paths with the GPU step functions emulated on the CPU (label_emulate_device_cpu,
// fill_holes_emulate_cpu).
#include "cellrt/kernels/label/label.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "cellrt/kernels/common/parallel.h"
#include "cellrt/kernels/label/label_element.h"

namespace cellrt {
namespace {

// Below this many rows per strip the fork/join and boundary merge cost more than they save.
constexpr int64_t kMinStripRows = 64;

// A run of foreground pixels [start, end) of one row, with its provisional label.
struct Run {
  int32_t start;
  int32_t end;
  int32_t label;
};

// Run extraction works on 64-pixel words of "foreground" bits. Two kinds of image are cut into
// runs: uint8 masks, whose nonzero pixels are foreground (label), and label images, whose
// background (value 0) is the foreground (fill_holes labels the background).
// zero_bits64(p): bit k set where p[k] == 0, k = 0..63 (AVX2: 32, 8 or 4 pixels per compare).
template <typename P>
inline uint64_t zero_bits64(const P* p) {
  uint64_t m = 0;
#if defined(__AVX2__)
  const __m256i zero = _mm256_setzero_si256();
  if constexpr (sizeof(P) == 1) {
    for (int k = 0; k < 64; k += 32) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k));
      const auto z = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(a, zero)));
      m |= static_cast<uint64_t>(z) << k;
    }
    return m;
  } else if constexpr (sizeof(P) == 4) {
    for (int k = 0; k < 64; k += 8) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k));
      const auto z = static_cast<uint32_t>(
          _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, zero))));
      m |= static_cast<uint64_t>(z) << k;
    }
    return m;
  } else if constexpr (sizeof(P) == 8) {
    for (int k = 0; k < 64; k += 4) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k));
      const auto z = static_cast<uint32_t>(
          _mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(a, zero))));
      m |= static_cast<uint64_t>(z) << k;
    }
    return m;
  }
#endif
  for (int k = 0; k < 64; ++k) m |= static_cast<uint64_t>(p[k] == 0) << k;
  return m;
}

// Foreground bits of pixels p[0 .. count), count <= 64. The bits past count read as not
// foreground, which closes a run still open at the row's end.
template <typename P, bool kZeroIsForeground>
inline uint64_t foreground_bits(const P* p, int64_t count) {
  if (count >= 64) {
    const uint64_t z = zero_bits64(p);
    return kZeroIsForeground ? z : ~z;
  }
  uint64_t m = 0;
  for (int64_t k = 0; k < count; ++k) {
    m |= static_cast<uint64_t>((p[k] == 0) == kZeroIsForeground) << k;
  }
  return m;
}

// Appends the foreground runs of one row. Bits of `toggles` mark columns where the pixel differs
// from its left neighbour (column -1 counts as background): they alternate run start, run end.
template <typename P, bool kZeroIsForeground>
void extract_runs(const P* row, int64_t width, std::vector<Run>& runs) {
  int64_t start = -1;
  uint64_t carry = 0;  // foreground bit of the column left of the current word
  for (int64_t base = 0; base < width; base += 64) {
    const uint64_t m = foreground_bits<P, kZeroIsForeground>(row + base, width - base);
    uint64_t toggles = m ^ ((m << 1) | carry);
    carry = m >> 63;
    while (toggles != 0) {
      const int64_t col = base + std::countr_zero(toggles);
      toggles &= toggles - 1;
      if (start < 0) {
        start = col;
      } else {
        runs.push_back({static_cast<int32_t>(start), static_cast<int32_t>(col), 0});
        start = -1;
      }
    }
  }
  if (start >= 0) runs.push_back({static_cast<int32_t>(start), static_cast<int32_t>(width), 0});
}

// Union-find over provisional labels with parent[l] <= l: the root of a set is its smallest label,
// i.e. its first run in raster order.
class UnionFind {
 public:
  explicit UnionFind(int32_t* parent) : parent_(parent) {}

  int32_t find(int32_t x) const {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];  // path halving
      x = parent_[x];
    }
    return x;
  }

  // Joins a's and b's sets; returns the root of the union.
  int32_t unite(int32_t a, int32_t b) const {
    a = find(a);
    b = find(b);
    if (a == b) return a;
    if (a < b) {
      parent_[b] = a;
      return a;
    }
    parent_[a] = b;
    return b;
  }

 private:
  int32_t* parent_;
};

// Visits the pairs of touching runs of two consecutive rows, in order: contact(k, m) for each run
// prev[m] touching cur[k], then done(k). Runs touch when their column ranges overlap, widened by
// `reach` columns (0: 4-connectivity, 1: 8-connectivity, where diagonal neighbours touch).
template <typename Contact, typename Done>
void sweep_contacts(const Run* prev, int64_t np, const Run* cur, int64_t nc, int32_t reach,
                    Contact&& contact, Done&& done) {
  int64_t j = 0;
  for (int64_t k = 0; k < nc; ++k) {
    const Run& r = cur[k];
    while (j < np && prev[j].end + reach <= r.start) ++j;
    int64_t m = j;
    for (; m < np && prev[m].start < r.end + reach; ++m) contact(k, m);
    done(k);
    if (m > j) j = m - 1;  // the last touching run may touch cur[k + 1] as well
  }
}

struct Strip {
  int64_t row0 = 0;
  int64_t row1 = 0;
  std::vector<Run> runs;
  std::vector<int64_t> row_begin;  // runs of row row0 + r: [row_begin[r], row_begin[r + 1])
  std::vector<int32_t> parent;     // union-find over this strip's labels 0..num_labels-1
  int32_t num_labels = 0;
  int32_t offset = 0;  // first global label of this strip

  const Run* row_runs(int64_t r) const { return runs.data() + row_begin[r]; }
  int64_t row_count(int64_t r) const { return row_begin[r + 1] - row_begin[r]; }
};

// Pass 1 on one strip: runs, provisional labels, local equivalences.
template <typename P, bool kZeroIsForeground>
void scan_strip(const P* image, const LabelParams& p, Strip& s) {
  const int64_t rows = s.row1 - s.row0;
  s.row_begin.assign(rows + 1, 0);
  for (int64_t r = 0; r < rows; ++r) {
    extract_runs<P, kZeroIsForeground>(image + (s.row0 + r) * p.width, p.width, s.runs);
    s.row_begin[r + 1] = static_cast<int64_t>(s.runs.size());
  }
  s.parent.resize(s.runs.size());  // at most one label per run
  const UnionFind uf(s.parent.data());
  const int32_t reach = p.connectivity == 2 ? 1 : 0;
  int32_t next = 0;
  for (int64_t r = 0; r < rows; ++r) {
    Run* cur = s.runs.data() + s.row_begin[r];
    const Run* prev = r > 0 ? s.row_runs(r - 1) : nullptr;
    const int64_t np = r > 0 ? s.row_count(r - 1) : 0;
    int32_t lab = -1;
    sweep_contacts(
        prev, np, cur, s.row_count(r), reach,
        [&](int64_t, int64_t m) {
          lab = lab < 0 ? uf.find(prev[m].label) : uf.unite(lab, prev[m].label);
        },
        [&](int64_t k) {
          if (lab < 0) {
            lab = next++;
            s.parent[lab] = lab;
          }
          cur[k].label = lab;
          lab = -1;
        });
  }
  s.num_labels = next;
}

// Joins the strips along their boundary rows and flattens every label to its final value 1..N.
// Returns the table indexed by global provisional label (strip offset + local label).
std::vector<int32_t> join_strips(std::vector<Strip>& strips, const LabelParams& p,
                                 int64_t* num_labels) {
  int64_t total = 0;
  for (Strip& s : strips) {
    s.offset = static_cast<int32_t>(total);
    total += s.num_labels;
  }
  std::vector<int32_t> g(static_cast<size_t>(total));
  for (const Strip& s : strips) {
    for (int32_t i = 0; i < s.num_labels; ++i) g[s.offset + i] = s.parent[i] + s.offset;
  }
  const UnionFind uf(g.data());
  const int32_t reach = p.connectivity == 2 ? 1 : 0;
  for (size_t t = 1; t < strips.size(); ++t) {
    const Strip& a = strips[t - 1];
    const Strip& b = strips[t];
    const int64_t last = a.row1 - a.row0 - 1;
    const Run* prev = a.row_runs(last);
    const Run* cur = b.row_runs(0);
    sweep_contacts(
        prev, a.row_count(last), cur, b.row_count(0), reach,
        [&](int64_t k, int64_t m) { uf.unite(prev[m].label + a.offset, cur[k].label + b.offset); },
        [](int64_t) {});
  }
  // parent[i] <= i, so walking up in index order finds every parent already final.
  int32_t n = 0;
  for (int64_t i = 0; i < total; ++i) g[i] = g[i] == i ? ++n : g[g[i]];
  *num_labels = n;
  return g;
}

// Pass 2 on one strip: each row is zeros between runs and the run's final label on them.
void write_strip(const Strip& s, const int32_t* final_label, int64_t width, int32_t* out) {
  for (int64_t r = 0; r < s.row1 - s.row0; ++r) {
    int32_t* o = out + (s.row0 + r) * width;
    const Run* runs = s.row_runs(r);
    int64_t col = 0;
    for (int64_t k = 0; k < s.row_count(r); ++k) {
      std::fill(o + col, o + runs[k].start, 0);
      std::fill(o + runs[k].start, o + runs[k].end, final_label[s.offset + runs[k].label]);
      col = runs[k].end;
    }
    std::fill(o + col, o + width, 0);
  }
}

// The two-pass labelling of the foreground of `image`, shared by label and fill_holes:
// pass 1 and the strip join, then after_join(strips, final_label, num_labels) once, then
// write(strip, final_label) for every strip (in parallel when there are several strips).
// final_label[strip.offset + run.label] is a run's component, 1..num_labels, numbered in raster
// order of the components' first pixels.
template <typename P, bool kZeroIsForeground, typename AfterJoin, typename Write>
Status label_runs(const P* image, const LabelParams& p, AfterJoin&& after_join, Write&& write) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (p.width >= kMax || p.height > kMax / ((p.width + 1) / 2 + 1)) return Status::kInvalidArgument;
  const int64_t strips_wanted =
      p.height * p.width < kParallelMinPixels
          ? 1
          : std::max<int64_t>(1, std::min<int64_t>(max_threads(), p.height / kMinStripRows));
  std::vector<Strip> strips(static_cast<size_t>(strips_wanted));
  for (int64_t t = 0; t < strips_wanted; ++t) {
    strips[t].row0 = p.height * t / strips_wanted;
    strips[t].row1 = p.height * (t + 1) / strips_wanted;
  }
  std::vector<int32_t> final_label;
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel num_threads(static_cast<int>(strips_wanted)) if (strips_wanted > 1)
#endif
  {
    // The team may be smaller than asked for (nested parallelism): strips are dealt round-robin.
    const int64_t tid = thread_id();
    const int64_t nth = team_size();
    for (int64_t t = tid; t < strips_wanted; t += nth) {
      scan_strip<P, kZeroIsForeground>(image, p, strips[t]);
    }
#if defined(CELLRT_WITH_OPENMP)
#pragma omp barrier
#pragma omp single
#endif
    {
      int64_t num = 0;
      final_label = join_strips(strips, p, &num);
      after_join(strips, final_label.data(), num);
    }
    for (int64_t t = tid; t < strips_wanted; t += nth) write(strips[t], final_label.data());
  }
  return Status::kOk;
}

// fill_holes' owner verdict from one background run of row y (the element function's rule,
// applied to the run's neighbours at once): touching the border is a conflict, otherwise every
// nonzero 4-neighbour claims the run's component. Runs are maximal, so the pixels left and right
// of the run are instance pixels.
template <typename L>
void claim_run(const L* labels, const LabelParams& p, int64_t y, const Run& r, L* owner) {
  if (*owner == L(kHoleConflict)) return;
  if (y == 0 || y == p.height - 1 || r.start == 0 || r.end == p.width) {
    *owner = L(kHoleConflict);
    return;
  }
  const L* row = labels + y * p.width;
  const L* above = row - p.width;
  const L* below = row + p.width;
  // Claims equal to the current owner change nothing, so only the others pay for the atomic.
  const auto claim = [owner](L v) {
    if (v != 0 && v != *owner) fill_holes_claim(owner, v);
  };
  claim(row[r.start - 1]);
  claim(row[r.end]);
  for (int64_t x = r.start; x < r.end && *owner != L(kHoleConflict); ++x) {
    claim(above[x]);
    claim(below[x]);
  }
}

}  // namespace

Status label_cpu(const uint8_t* fg, const LabelParams& p, int32_t* out, int64_t* num_labels) {
  if (p.height < 0 || p.width < 0 || (p.connectivity != 1 && p.connectivity != 2)) {
    return Status::kInvalidArgument;
  }
  *num_labels = 0;
  if (p.height == 0 || p.width == 0) return Status::kOk;
  return label_runs<uint8_t, false>(
      fg, p, [&](const std::vector<Strip>&, const int32_t*, int64_t num) { *num_labels = num; },
      [&](const Strip& s, const int32_t* final_label) {
        write_strip(s, final_label, p.width, out);
      });
}

Status label_emulate_device_cpu(const uint8_t* fg, const LabelParams& p, const int64_t* order,
                                int32_t num_threads, int32_t* parent, int32_t* rank,
                                int32_t* out) {
  if (p.height < 0 || p.width < 0 || (p.connectivity != 1 && p.connectivity != 2) ||
      num_threads < 1) {
    return Status::kInvalidArgument;
  }
  const int64_t n = p.height * p.width;
  if (n > std::numeric_limits<int32_t>::max()) return Status::kInvalidArgument;
  (void)num_threads;  // used by the OpenMP pragmas only
  // Each step is a separate loop, as each is a separate kernel launch on the GPU.
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for num_threads(num_threads) schedule(static)
#endif
  for (int64_t k = 0; k < n; ++k) label_init_element(fg, parent, order[k]);
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for num_threads(num_threads) schedule(static)
#endif
  for (int64_t k = 0; k < n; ++k) label_merge_element(p, fg, parent, order[k]);
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for num_threads(num_threads) schedule(static)
#endif
  for (int64_t k = 0; k < n; ++k) label_compress_element(parent, order[k]);
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for num_threads(num_threads) schedule(static)
#endif
  for (int64_t k = 0; k < n; ++k) label_root_flag_element(parent, out, order[k]);
  int32_t sum = 0;  // the device uses a library inclusive scan here
  for (int64_t i = 0; i < n; ++i) rank[i] = sum += out[i];
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for num_threads(num_threads) schedule(static)
#endif
  for (int64_t k = 0; k < n; ++k) label_write_element(parent, rank, out, order[k]);
  return Status::kOk;
}

template <typename L>
Status label_minmax_cpu(const L* labels, int64_t n, L* min_value, L* max_value) {
  if (n < 1) return Status::kInvalidArgument;
  L lo = labels[0];
  L hi = labels[0];
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for reduction(min : lo) reduction(max : hi) schedule(static) \
    if (n >= kParallelMinPixels)
#endif
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, labels[i]);
    hi = std::max(hi, labels[i]);
  }
  *min_value = lo;
  *max_value = hi;
  return Status::kOk;
}

template <typename L>
Status label_histogram_cpu(const L* labels, int64_t n, int64_t bins, int64_t* counts) {
  if (n < 0 || bins < 1) return Status::kInvalidArgument;
  std::fill(counts, counts + bins, int64_t{0});
  // One private histogram per extra thread, when they are small next to the image; otherwise one
  // sequential pass (plain increments beat atomics there).
  const int64_t threads = n >= kParallelMinPixels ? max_threads() : 1;
  if (threads > 1 && bins * threads <= n) {
    std::vector<int64_t> partial(static_cast<size_t>((threads - 1) * bins), 0);
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel num_threads(static_cast<int>(threads))
#endif
    {
      const int64_t tid = thread_id();
      const int64_t nth = team_size();
      int64_t* h = tid == 0 ? counts : partial.data() + (tid - 1) * bins;
      const int64_t i0 = n * tid / nth;
      const int64_t i1 = n * (tid + 1) / nth;
      for (int64_t i = i0; i < i1; ++i) ++h[labels[i]];
#if defined(CELLRT_WITH_OPENMP)
#pragma omp barrier
#pragma omp for schedule(static)
#endif
      for (int64_t v = 0; v < bins; ++v) {
        for (int64_t t = 1; t < nth; ++t) counts[v] += partial[(t - 1) * bins + v];
      }
    }
  } else {
    for (int64_t i = 0; i < n; ++i) ++counts[labels[i]];
  }
  counts[0] = 0;  // background is not an instance (as in label_histogram_element)
  return Status::kOk;
}

template <typename L>
Status label_histogram_emulate_cpu(const L* labels, int64_t n, const int64_t* order, int64_t bins,
                                   int64_t* counts) {
  if (n < 0 || bins < 1) return Status::kInvalidArgument;
  std::fill(counts, counts + bins, int64_t{0});
  for (int64_t k = 0; k < n; ++k) label_histogram_element(labels, counts, order[k]);
  return Status::kOk;
}

template <typename I, typename V>
Status label_lookup_cpu(const I* labels, int64_t n, const V* lut, V* out) {
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kParallelMinPixels)
#endif
  for (int64_t i = 0; i < n; ++i) label_lookup_element(labels, lut, out, i);
  return Status::kOk;
}

template <typename L>
Status relabel_sequential_cpu(const L* labels, int64_t n, int64_t bins, L* out,
                              int64_t* num_labels) {
  std::vector<int64_t> counts(static_cast<size_t>(bins));
  const Status s = label_histogram_cpu(labels, n, bins, counts.data());
  if (s != Status::kOk) return s;
  std::vector<int64_t> rank(static_cast<size_t>(bins));
  int64_t present = 0;
  for (int64_t v = 0; v < bins; ++v) rank[v] = present += counts[v] > 0 ? 1 : 0;
  std::vector<L> lut(static_cast<size_t>(bins));
  for (int64_t v = 0; v < bins; ++v) relabel_lut_element(counts.data(), rank.data(), lut.data(), v);
  *num_labels = present;
  return label_lookup_cpu(labels, n, lut.data(), out);
}

template <typename L>
Status remove_small_objects_cpu(const L* labels, int64_t n, int64_t bins, int64_t min_size,
                                L* out) {
  if (min_size < 0) return Status::kInvalidArgument;
  std::vector<int64_t> counts(static_cast<size_t>(bins));
  const Status s = label_histogram_cpu(labels, n, bins, counts.data());
  if (s != Status::kOk) return s;
  std::vector<L> lut(static_cast<size_t>(bins));
  for (int64_t v = 0; v < bins; ++v) {
    remove_small_lut_element(counts.data(), min_size, lut.data(), v);
  }
  return label_lookup_cpu(labels, n, lut.data(), out);
}

template <typename L>
Status label_compact_cpu(const L* labels, int64_t n, L* values, int64_t* num_values,
                         int32_t* ids) {
  // Label images are runs of equal values, so skipping repeats keeps the sort small.
  std::vector<L> distinct;
  L last = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (labels[i] < 0) return Status::kInvalidArgument;
    if (labels[i] != 0 && labels[i] != last) distinct.push_back(last = labels[i]);
  }
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (static_cast<int64_t>(distinct.size()) >= std::numeric_limits<int32_t>::max()) {
    return Status::kInvalidArgument;
  }
  values[0] = 0;
  std::copy(distinct.begin(), distinct.end(), values + 1);
  *num_values = static_cast<int64_t>(distinct.size());
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kParallelMinPixels)
#endif
  for (int64_t i = 0; i < n; ++i) {
    const L v = labels[i];
    const auto at = std::lower_bound(distinct.begin(), distinct.end(), v);
    ids[i] = v == 0 ? 0 : static_cast<int32_t>(at - distinct.begin() + 1);
  }
  return Status::kOk;
}

namespace {

// Background components of a label image (4-connectivity) and the owner table of fill_holes.
template <typename L>
Status hole_components(const L* labels, const LabelParams& p, std::vector<int32_t>& comp,
                       std::vector<L>& owner) {
  const int64_t n = p.height * p.width;
  std::vector<uint8_t> background(static_cast<size_t>(n));
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kParallelMinPixels)
#endif
  for (int64_t i = 0; i < n; ++i) background[i] = labels[i] == 0 ? 1 : 0;
  comp.resize(static_cast<size_t>(n));
  int64_t num = 0;
  const LabelParams bp{p.height, p.width, 1};
  const Status s = label_cpu(background.data(), bp, comp.data(), &num);
  owner.assign(static_cast<size_t>(num + 1), L(kHoleNone));
  return s;
}

template <typename L>
void fill_holes_write(const L* labels, int64_t n, const std::vector<int32_t>& comp,
                      const std::vector<L>& owner, L* out) {
#if defined(CELLRT_WITH_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kParallelMinPixels)
#endif
  for (int64_t i = 0; i < n; ++i) {
    fill_holes_write_element(labels, comp.data(), owner.data(), out, i);
  }
}

}  // namespace

// The CPU labels the background run by run and decides each component from its runs' neighbours
// (claim_run); the GPU's per-pixel element functions are emulated by fill_holes_emulate_cpu and
// compared with this path in the tests.
template <typename L>
Status fill_holes_cpu(const L* labels, const LabelParams& p, L* out) {
  if (p.height < 0 || p.width < 0) return Status::kInvalidArgument;
  if (p.height == 0 || p.width == 0) return Status::kOk;
  const LabelParams bp{p.height, p.width, 1};  // holes are 4-connected background
  std::vector<L> owner;
  return label_runs<L, true>(
      labels, bp,
      [&](const std::vector<Strip>& strips, const int32_t* final_label, int64_t num) {
        owner.assign(static_cast<size_t>(num + 1), L(kHoleNone));
        for (const Strip& s : strips) {
          for (int64_t r = 0; r < s.row1 - s.row0; ++r) {
            const Run* runs = s.row_runs(r);
            for (int64_t k = 0; k < s.row_count(r); ++k) {
              L* o = &owner[final_label[s.offset + runs[k].label]];
              claim_run(labels, bp, s.row0 + r, runs[k], o);
            }
          }
        }
      },
      [&](const Strip& s, const int32_t* final_label) {
        for (int64_t r = 0; r < s.row1 - s.row0; ++r) {
          const int64_t y = s.row0 + r;
          std::copy(labels + y * p.width, labels + (y + 1) * p.width, out + y * p.width);
          const Run* runs = s.row_runs(r);
          for (int64_t k = 0; k < s.row_count(r); ++k) {
            const L v = owner[final_label[s.offset + runs[k].label]];
            L* o = out + y * p.width;
            if (v > 0) std::fill(o + runs[k].start, o + runs[k].end, v);
          }
        }
      });
}

template <typename L>
Status fill_holes_emulate_cpu(const L* labels, const LabelParams& p, const int64_t* order,
                              L* out) {
  if (p.height < 0 || p.width < 0) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  if (n == 0) return Status::kOk;
  std::vector<int32_t> comp;
  std::vector<L> owner;
  const Status s = hole_components(labels, p, comp, owner);
  if (s != Status::kOk) return s;
  for (int64_t k = 0; k < n; ++k) {
    fill_holes_owner_element(p, labels, comp.data(), owner.data(), order[k]);
  }
  fill_holes_write(labels, n, comp, owner, out);
  return Status::kOk;
}

#define CELLRT_LABEL_INSTANTIATE(L)                                                             \
  template Status label_minmax_cpu<L>(const L*, int64_t, L*, L*);                               \
  template Status label_histogram_cpu<L>(const L*, int64_t, int64_t, int64_t*);                 \
  template Status label_histogram_emulate_cpu<L>(const L*, int64_t, const int64_t*, int64_t,    \
                                                 int64_t*);                                     \
  template Status label_lookup_cpu<L, L>(const L*, int64_t, const L*, L*);                      \
  template Status relabel_sequential_cpu<L>(const L*, int64_t, int64_t, L*, int64_t*);          \
  template Status remove_small_objects_cpu<L>(const L*, int64_t, int64_t, int64_t, L*);         \
  template Status label_compact_cpu<L>(const L*, int64_t, L*, int64_t*, int32_t*);              \
  template Status fill_holes_cpu<L>(const L*, const LabelParams&, L*);                          \
  template Status fill_holes_emulate_cpu<L>(const L*, const LabelParams&, const int64_t*, L*);

CELLRT_LABEL_INSTANTIATE(int32_t)
CELLRT_LABEL_INSTANTIATE(int64_t)
#undef CELLRT_LABEL_INSTANTIATE
template Status label_lookup_cpu<int32_t, int64_t>(const int32_t*, int64_t, const int64_t*,
                                                   int64_t*);

}  // namespace cellrt
