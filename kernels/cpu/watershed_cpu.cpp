// Marker-controlled watershed on the CPU: a priority flood with an exact bucket queue.
//
// Order (that of skimage.segmentation.watershed 0.26, without compactness or watershed lines):
// the queue holds pixels keyed by (priority, age). Markers inside the mask enter first, in raster
// order, with priority = their image value. Popping pixel q with priority K labels every
// unlabelled in-mask neighbour n with q's label at once and queues n with priority
// max(image[n], K). Equal priorities leave first-in first-out. Because a pushed priority is never
// below the popped one, pops are monotone and a bucket queue can replace the binary heap without
// changing the order at all:
//
//   * values map monotonically to B buckets (integer images: one bucket per value when the range
//     allows; otherwise linear quantisation between the minimum and maximum). Buckets are visited
//     once, in increasing order. A bucket is a FIFO linked list of entries (value, pixel) in a
//     per-thread pool, written in push order (sequential, and the value is not read again).
//   * a bucket holding a single value (the usual case: distance maps have few distinct values)
//     is popped straight from its list. A bucket with several values is stable-sorted by value
//     when it becomes current, which restores (value, age) order exactly.
//   * while bucket b is current, a new item with priority K (the current one) goes to a FIFO,
//     one with a higher priority that still falls in b goes to a small (value, age) heap, one in
//     a later bucket is appended to that bucket's list. Within priority K the run (queued before b
//     became current) is older than the heap, which is older than the FIFO, which fixes the order.
//
// The flood runs one connected component of the mask at a time (found by a run-length
// union-find in the first, streaming pass); components never interact, so this is the same
// labelling as one global flood, keeps each component's pixels in cache and lets threads take
// components in parallel with a result independent of the thread count.
//
// The only freedom left is the order of marker pixels with equal values. Here it is raster order;
// scikit-image gives every marker age 0 and leaves their order to its heap layout, so labels can
// differ from scikit-image only where equal-valued marker pixels compete (documented in
// python/cellrt/ops/watershed.py and tested).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "cellrt/kernels/common/parallel.h"
#include "cellrt/kernels/watershed/watershed.h"
#include "cellrt/kernels/watershed/watershed_element.h"

namespace cellrt {
namespace {

// Per-pixel flag bits. Labels are written straight into the output and the image is read in
// place; the flags say which neighbours exist (no padded copies: on many machines first-touching
// a fresh buffer costs more than the flood itself) and whether the pixel is free: inside the mask
// and not labelled yet (so the flood tests one byte per neighbour).
constexpr uint8_t kFree = 1;
constexpr uint8_t kUp = 2;
constexpr uint8_t kLeft = 4;
constexpr uint8_t kRight = 8;
constexpr uint8_t kDown = 16;
// Flag bits neighbour k needs, in scikit-image's order: up, left, right, down, up-left, up-right,
// down-left, down-right.
constexpr uint8_t kNeed[8] = {kUp,         kLeft,         kRight,        kDown,
                              kUp | kLeft, kUp | kRight, kDown | kLeft, kDown | kRight};

// Large workspace: 2 MiB aligned and, on Linux, marked for transparent huge pages (as NumPy does
// for its arrays), so first touch costs one page fault per 2 MiB instead of one per 4 KiB.
struct FreeDeleter {
  void operator()(void* ptr) const { std::free(ptr); }
};
template <typename U>
using Workspace = std::unique_ptr<U[], FreeDeleter>;

template <typename U>
Workspace<U> alloc_workspace(int64_t n) {
  constexpr size_t kHuge = size_t{1} << 21;
  const size_t bytes = (static_cast<size_t>(n) * sizeof(U) + kHuge - 1) / kHuge * kHuge;
  void* ptr = std::aligned_alloc(kHuge, bytes);
  if (ptr == nullptr) return Workspace<U>(nullptr);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  madvise(ptr, bytes, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
  return Workspace<U>(static_cast<U*>(ptr));
}

// Calls fn(i, thread) for every i in [0, n), handing out one index at a time to up to
// max_threads() threads (thread = 0..threads-1). Plain std::threads rather than an OpenMP
// region: OpenMP workers spin at the closing barrier, and on an oversubscribed machine that spin
// takes the core from the very thread being waited for (measured 2x slower than one thread);
// joining a std::thread sleeps instead.
template <typename Fn>
void parallel_dynamic(int64_t n, Fn&& fn) {
  const int nt = static_cast<int>(std::min<int64_t>(max_threads(), n));
  if (nt <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  const auto work = [&](int thread) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i, thread);
  };
  std::vector<std::thread> helpers;
  helpers.reserve(nt - 1);
  for (int t = 1; t < nt; ++t) helpers.emplace_back(work, t);
  work(0);
  for (auto& th : helpers) th.join();
}

// A connected component of the mask that holds at least one marker. The flood never crosses from
// one component to another, so flooding each component on its own with the same (priority, age)
// order gives exactly the labels of one global flood, in any order of the components and on any
// thread; and a component's pixels stay in cache, which the global level-by-level order (whose
// consecutive pops are scattered over the whole image) does not allow.
template <typename T>
struct Component {
  int64_t runs_begin, runs_end;  // its row runs, raster order, in Flood::comp_runs_
  int64_t size;                  // pixels
  T vmin, vmax;                  // finite value range (drives the bucket quantisation)
};

// Exact (priority, age) queue for one component; see the file comment. One per thread, reused.
template <typename T, typename Idx>
class BucketQueue {
 public:
  explicit BucketQueue(const T* img) : img_(img) {}

  void reset(const Component<T>& c) {
    // About one bucket per pixel: distance maps (few distinct values, far apart relative to the
    // bucket width) get one value per bucket; integer images one bucket per value when that fits.
    nbuckets_ = std::clamp<int64_t>(c.size, 16, int64_t{1} << 22);
    double range = static_cast<double>(c.vmax) - static_cast<double>(c.vmin);
    if (std::is_integral_v<T> && range + 1 <= static_cast<double>(nbuckets_)) {
      nbuckets_ = static_cast<int64_t>(range) + 1;
    }
    scale_ = range > 0 ? static_cast<double>(nbuckets_ - 1) / range : 0.0;
    vmin_ = static_cast<double>(c.vmin);
    if (static_cast<int64_t>(head_.size()) < nbuckets_) {
      head_.resize(nbuckets_);
      tail_.resize(nbuckets_);
      first_.resize(nbuckets_);
      mixed_.resize(nbuckets_);
    }
    std::fill(head_.begin(), head_.begin() + nbuckets_, Idx{-1});
    std::fill(mixed_.begin(), mixed_.begin() + nbuckets_, uint8_t{0});
    pool_.clear();
    pool_.reserve(c.size);  // a pixel is queued at most once
    cur_ = -1;
    key_ = std::numeric_limits<T>::lowest();
    run_is_list_ = true;
    list_head_ = Idx{-1};
    sorted_.clear();
    sorted_pos_ = 0;
    heap_.clear();
    age_ = 0;
    fifo_.clear();
    fifo_pos_ = 0;
  }

  void seed(Idx x) {
    const T v = img_[x];
    append(bucket_of(v), x, v);
  }

  // Next pixel in (priority, age) order, or -1 when the queue is empty. At the current priority
  // the run (queued before the bucket became current) is oldest, then the heap, then the FIFO.
  Idx pop() {
    if (run_is_list_) {
      if (list_head_ >= 0 && list_key_ == key_) return run_take();
    } else if (sorted_pos_ < sorted_.size() && sorted_[sorted_pos_].first == key_) {
      return run_take();
    }
    if (!heap_.empty() && heap_.front().value == key_) return heap_take();
    if (fifo_pos_ < fifo_.size()) return fifo_[fifo_pos_++];
    return pop_next_priority();
  }

  // Queues x with priority max(image[x], priority of the pixel just popped).
  void push(Idx x) {
    const T v = img_[x];
    if (!(v > key_)) {  // at the current priority: behind everything already there
      fifo_.push_back(x);
      return;
    }
    const int64_t b = bucket_of(v);
    if (b == cur_) {
      heap_.push_back(HeapItem{v, age_++, x});
      std::push_heap(heap_.begin(), heap_.end(), HeapAfter{});
    } else {
      append(b, x, v);  // b > cur_: the map is monotone and v > key_
    }
  }

 private:
  struct HeapItem {
    T value;
    uint64_t age;
    Idx idx;
  };
  struct HeapAfter {  // std heap algorithms build a max-heap: "after" puts the smallest on top
    bool operator()(const HeapItem& a, const HeapItem& b) const {
      return a.value != b.value ? a.value > b.value : a.age > b.age;
    }
  };

  // Nothing is left at the current priority: moves to the next one (the smaller of the run's
  // and the heap's heads, the run first on equal values since it is older), activating the next
  // bucket when this one is exhausted.
  Idx pop_next_priority() {
    fifo_.clear();
    fifo_pos_ = 0;
    for (;;) {
      const bool has_run = run_nonempty();
      const bool has_heap = !heap_.empty();
      if (has_run && (!has_heap || !(heap_.front().value < run_key()))) {
        key_ = run_key();
        return run_take();
      }
      if (has_heap) {
        key_ = heap_.front().value;
        return heap_take();
      }
      if (!activate_next_bucket()) return Idx{-1};
    }
  }

  // Monotone (non-decreasing) map from value to bucket: a lower bucket only holds lower values.
  int64_t bucket_of(T v) const {
    const double t = (static_cast<double>(v) - vmin_) * scale_;
    if (!(t > 0.0)) return 0;  // also -inf, and inf * 0 when the range is a single value
    if (!(t < static_cast<double>(nbuckets_ - 1))) return nbuckets_ - 1;
    return static_cast<int64_t>(t);
  }

  void append(int64_t b, Idx x, T v) {
    const Idx e = static_cast<Idx>(pool_.size());
    pool_.push_back(Entry{v, x, Idx{-1}});
    if (head_[b] < 0) {
      head_[b] = tail_[b] = e;
      first_[b] = v;
      return;
    }
    pool_[tail_[b]].next = e;
    tail_[b] = e;
    if (v != first_[b]) mixed_[b] = 1;
  }

  // Makes the next non-empty bucket current: its list becomes the run. False when none is left.
  bool activate_next_bucket() {
    while (++cur_ < nbuckets_ && head_[cur_] < 0) {
    }
    if (cur_ >= nbuckets_) return false;
    const Idx first = head_[cur_];
    head_[cur_] = Idx{-1};
    if (!mixed_[cur_]) {
      list_head_ = first;
      list_key_ = first_[cur_];
      run_is_list_ = true;
      return true;
    }
    // Several values: a stable sort by value keeps age order among equal values.
    sorted_.clear();
    sorted_pos_ = 0;
    for (Idx e = first; e >= 0; e = pool_[e].next) sorted_.emplace_back(pool_[e].value, pool_[e].idx);
    const auto by_value = [](const auto& a, const auto& b) { return a.first < b.first; };
    if (sorted_.size() <= 32) {
      // Continuous images give many buckets of two or three values: insertion sort (stable,
      // no allocation) is much cheaper there than std::stable_sort.
      for (size_t i = 1; i < sorted_.size(); ++i) {
        const auto item = sorted_[i];
        size_t j = i;
        for (; j > 0 && by_value(item, sorted_[j - 1]); --j) sorted_[j] = sorted_[j - 1];
        sorted_[j] = item;
      }
    } else {
      std::stable_sort(sorted_.begin(), sorted_.end(), by_value);
    }
    run_is_list_ = false;
    return true;
  }

  bool run_nonempty() const {
    return run_is_list_ ? list_head_ >= 0 : sorted_pos_ < sorted_.size();
  }
  T run_key() const { return run_is_list_ ? list_key_ : sorted_[sorted_pos_].first; }
  Idx run_take() {
    if (!run_is_list_) return sorted_[sorted_pos_++].second;
    const Entry& e = pool_[list_head_];
    list_head_ = e.next;
    return e.idx;
  }
  Idx heap_take() {
    std::pop_heap(heap_.begin(), heap_.end(), HeapAfter{});
    const Idx x = heap_.back().idx;
    heap_.pop_back();
    return x;
  }

  struct Entry {
    T value;
    Idx idx;   // the pixel
    Idx next;  // next entry of the same bucket, -1 at the end
  };

  const T* img_;
  std::vector<Entry> pool_;  // every queued pixel of the component, in push order
  int64_t nbuckets_ = 0;
  double vmin_ = 0.0, scale_ = 0.0;
  std::vector<Idx> head_, tail_;  // first and last pool entry of each bucket
  std::vector<T> first_;
  std::vector<uint8_t> mixed_;

  int64_t cur_ = -1;  // current bucket
  T key_{};           // priority of the last popped pixel
  bool run_is_list_ = true;
  Idx list_head_ = -1;  // pool entry at the head of a single-valued run
  T list_key_{};
  std::vector<std::pair<T, Idx>> sorted_;
  size_t sorted_pos_ = 0;
  std::vector<HeapItem> heap_;
  uint64_t age_ = 0;
  std::vector<Idx> fifo_;
  size_t fifo_pos_ = 0;
};

// A horizontal run of in-mask pixels [start, start + len) within one row.
struct Run {
  int64_t start;
  int64_t len;
};

// Union-find over run indices with the smaller index as root, so parent[i] <= i always and one
// forward pass flattens every tree.
inline int64_t find_root(std::vector<int64_t>& parent, int64_t i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

inline void unite(std::vector<int64_t>& parent, int64_t a, int64_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a < b) {
    parent[b] = a;
  } else if (b < a) {
    parent[a] = b;
  }
}

// Unites the overlapping runs of two consecutive rows ([a0, a1) above, [b0, b1) below).
// reach = 1 lets diagonal contact count (8-neighbourhood).
inline void unite_rows(const std::vector<Run>& runs, std::vector<int64_t>& parent, int64_t width,
                       int64_t reach, int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  while (a0 < a1 && b0 < b1) {
    const int64_t as = runs[a0].start % width, ae = as + runs[a0].len;  // columns [as, ae)
    const int64_t bs = runs[b0].start % width, be = bs + runs[b0].len;
    if (as < be + reach && bs < ae + reach) unite(parent, a0, b0);
    if (ae < be) {
      ++a0;
    } else {
      ++b0;
    }
  }
}

template <typename T, typename Idx>
class Flood {
 public:
  Flood(const WatershedParams& p, const T* image, const int32_t* markers, const uint8_t* mask,
        int32_t* out)
      : p_(p), image_(image), markers_(markers), mask_(mask), out_(out), n_(p.height * p.width) {
    const int64_t w = p.width;
    const int64_t off[8] = {-w, -1, 1, w, -w - 1, -w + 1, w - 1, w + 1};
    std::copy(off, off + 8, off_);
  }

  Status run() {
    flag_ = alloc_workspace<uint8_t>(n_);
    if (!flag_) return Status::kOutOfMemory;
    if (!setup()) return Status::kInvalidArgument;
    build_components();
    if (p_.connectivity == 1) {
      flood_components<4>();
    } else {
      flood_components<8>();
    }
    return Status::kOk;
  }

 private:
  // Per-thread output of setup() for one band of rows.
  struct Band {
    int64_t r0 = 0, r1 = 0;
    std::vector<Run> runs;
    std::vector<int64_t> parent;     // band-local run indices
    std::vector<int64_t> row_begin;  // runs of row r0 + i: [row_begin[i], row_begin[i + 1])
    std::vector<T> vmin, vmax;       // finite value range per run
    std::vector<uint8_t> seeded;     // the run holds a marker pixel
    bool nan = false;
  };

  // One streaming pass, parallel over bands of rows: writes the flags and out (markers inside the
  // mask, 0 elsewhere), cuts every row into runs of in-mask pixels and unites runs that touch
  // within the band, then unites across band boundaries. False if an in-mask pixel is NaN.
  bool setup() {
    const int64_t h = p_.height, w = p_.width;
    const int64_t reach = p_.connectivity == 2 ? 1 : 0;
    // Bands of about 64K pixels handed out dynamically: a thread that loses its core for a
    // while (shared machines) does not hold the others up at the end of a static split.
    const int64_t rows_per_band = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(w, 1));
    const int64_t nt = (h + rows_per_band - 1) / rows_per_band;
    std::vector<Band> bands(nt);
    parallel_dynamic(nt, [&](int64_t t, int) {
      Band& b = bands[t];
      b.r0 = t * rows_per_band;
      b.r1 = std::min(h, b.r0 + rows_per_band);
      b.row_begin.push_back(0);
      for (int64_t r = b.r0; r < b.r1; ++r) {
        const uint8_t rows = (r > 0 ? kUp : 0) | (r + 1 < h ? kDown : 0);
        const uint8_t inner = rows | (w > 1 ? kLeft | kRight : 0);
        const int64_t row = r * w;
        for (int64_t c = 0; c < w;) {
          for (; c < w && mask_ != nullptr && mask_[row + c] == 0; ++c) {
            out_[row + c] = 0;
            flag_[row + c] = inner;
          }
          if (c == w) break;
          // A run of in-mask pixels [c, e).
          const int64_t run_id = static_cast<int64_t>(b.runs.size());
          T lo = std::numeric_limits<T>::max(), hi = std::numeric_limits<T>::lowest();
          bool nan = false;
          int32_t any_marker = 0;
          int64_t e = c;
          for (; e < w && (mask_ == nullptr || mask_[row + e] != 0); ++e) {
            const int64_t i = row + e;
            const int32_t m = markers_[i];
            out_[i] = m;
            flag_[i] = inner | (m == 0 ? kFree : 0);
            any_marker |= m;
            const T v = image_[i];
            if constexpr (std::is_floating_point_v<T>) {
              nan = nan || std::isnan(v);
              // The range drives the bucket quantisation: finite values only.
              const bool finite = std::isfinite(v);
              lo = finite && v < lo ? v : lo;
              hi = finite && v > hi ? v : hi;
            } else {
              lo = std::min(lo, v);
              hi = std::max(hi, v);
            }
          }
          b.nan = b.nan || nan;
          b.runs.push_back(Run{row + c, e - c});
          b.parent.push_back(run_id);
          b.vmin.push_back(lo);
          b.vmax.push_back(hi);
          b.seeded.push_back(any_marker != 0);
          c = e;
        }
        // Neighbours beyond the first and last column do not exist.
        flag_[row] &= static_cast<uint8_t>(~kLeft);
        flag_[row + w - 1] &= static_cast<uint8_t>(~kRight);
        b.row_begin.push_back(static_cast<int64_t>(b.runs.size()));
        const size_t k = b.row_begin.size();
        if (k >= 3) {
          unite_rows(b.runs, b.parent, w, reach, b.row_begin[k - 3], b.row_begin[k - 2],
                     b.row_begin[k - 2], b.row_begin[k - 1]);
        }
      }
    });
    // Concatenate the bands (global run index = band base + local index), then unite across
    // each band boundary.
    std::vector<int64_t> base(nt + 1, 0);
    for (int64_t t = 0; t < nt; ++t) {
      if (bands[t].nan) return false;
      base[t + 1] = base[t] + static_cast<int64_t>(bands[t].runs.size());
    }
    runs_.resize(base[nt]);
    parent_.resize(base[nt]);
    run_min_.resize(base[nt]);
    run_max_.resize(base[nt]);
    run_seeded_.resize(base[nt]);
    for (int64_t t = 0; t < nt; ++t) {
      const Band& b = bands[t];
      for (size_t i = 0; i < b.runs.size(); ++i) {
        runs_[base[t] + i] = b.runs[i];
        parent_[base[t] + i] = base[t] + b.parent[i];
        run_min_[base[t] + i] = b.vmin[i];
        run_max_[base[t] + i] = b.vmax[i];
        run_seeded_[base[t] + i] = b.seeded[i];
      }
    }
    for (int64_t t = 1; t < nt; ++t) {
      const Band& up = bands[t - 1];
      const Band& down = bands[t];
      if (up.r1 == up.r0 || down.r1 == down.r0) continue;
      const size_t ku = up.row_begin.size();
      unite_rows(runs_, parent_, w, reach, base[t - 1] + up.row_begin[ku - 2],
                 base[t - 1] + up.row_begin[ku - 1], base[t] + down.row_begin[0],
                 base[t] + down.row_begin[1]);
    }
    return true;
  }

  // Components = the connected parts of the mask that hold a marker. Parts without markers stay
  // 0 and are never flooded. Lists each component's runs in raster order.
  void build_components() {
    const int64_t nruns = static_cast<int64_t>(runs_.size());
    for (int64_t i = 0; i < nruns; ++i) parent_[i] = parent_[parent_[i]];  // parent <= index
    std::vector<int64_t> comp_of_root(nruns, -1);
    for (int64_t i = 0; i < nruns; ++i) {
      const int64_t root = parent_[i];
      if (run_seeded_[i] && comp_of_root[root] < 0) {
        comp_of_root[root] = static_cast<int64_t>(comps_.size());
        comps_.push_back(Component<T>{0, 0, 0, std::numeric_limits<T>::max(),
                                      std::numeric_limits<T>::lowest()});
      }
    }
    const size_t nc = comps_.size();
    std::vector<int64_t> run_pos(nc + 1, 0);  // counting sort of the runs by component
    for (int64_t i = 0; i < nruns; ++i) {
      const int64_t c = comp_of_root[parent_[i]];
      if (c < 0) continue;
      ++run_pos[c + 1];
      Component<T>& comp = comps_[c];
      comp.size += runs_[i].len;
      comp.vmin = std::min(comp.vmin, run_min_[i]);
      comp.vmax = std::max(comp.vmax, run_max_[i]);
    }
    for (size_t c = 0; c < nc; ++c) {
      run_pos[c + 1] += run_pos[c];
      Component<T>& comp = comps_[c];
      comp.runs_begin = run_pos[c];
      comp.runs_end = run_pos[c + 1];
      if (comp.vmin > comp.vmax) comp.vmin = comp.vmax = T(0);  // only infinities
    }
    comp_runs_.resize(run_pos[nc]);
    for (int64_t i = 0; i < nruns; ++i) {
      const int64_t c = comp_of_root[parent_[i]];
      if (c >= 0) comp_runs_[run_pos[c]++] = runs_[i];
    }
  }

  template <int NK>
  void flood_components() {
    // Largest first, so the dynamic schedule does not end on one big component.
    std::vector<int64_t> order(comps_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::sort(order.begin(), order.end(),
              [&](int64_t a, int64_t b) { return comps_[a].size > comps_[b].size; });
    const int64_t nc = static_cast<int64_t>(order.size());
    std::vector<std::unique_ptr<BucketQueue<T, Idx>>> queues(max_threads());
    parallel_dynamic(nc, [&](int64_t i, int tid) {
      if (!queues[tid]) queues[tid] = std::make_unique<BucketQueue<T, Idx>>(image_);
      flood_one<NK>(comps_[order[i]], queues[tid].get());
    });
  }

  template <int NK>
  bool has_free_neighbour(int64_t x) const {
    const uint8_t* flag = flag_.get();
    const uint8_t fx = flag[x];
    for (int k = 0; k < NK; ++k) {
      if ((fx & kNeed[k]) == kNeed[k] && (flag[x + off_[k]] & kFree)) return true;
    }
    return false;
  }

  template <int NK>
  void flood_one(const Component<T>& c, BucketQueue<T, Idx>* queue) {
    int32_t* out = out_;
    uint8_t* flag = flag_.get();
    queue->reset(c);
    // The flood reads image values at neighbours in priority order, spatially scattered (on
    // continuous maps almost random): prefetching the component's rows of the image first turns
    // those demand misses into overlapping fetches (measured 5-8% of the call).
    constexpr int64_t kPerLine = std::max<int64_t>(1, 64 / static_cast<int64_t>(sizeof(T)));
    for (int64_t i = c.runs_begin; i < c.runs_end; ++i) {
      const Run& r = comp_runs_[i];
      for (int64_t j = 0; j < r.len; j += kPerLine) __builtin_prefetch(image_ + r.start + j);
      __builtin_prefetch(image_ + r.start + r.len - 1);
    }
    // Seeds: the component's marker pixels (inside, not free before the flood) in raster order,
    // so equal-valued markers leave the queue in raster order. A marker pixel without a free
    // neighbour would label nothing when popped, and ages only advance on pushes, so leaving it
    // out changes no result; inside marker blobs that is most of them.
    for (int64_t i = c.runs_begin; i < c.runs_end; ++i) {
      const Run& r = comp_runs_[i];
      for (int64_t x = r.start; x < r.start + r.len; ++x) {
        if (!(flag[x] & kFree) && has_free_neighbour<NK>(x)) queue->seed(static_cast<Idx>(x));
      }
    }
    for (Idx q = queue->pop(); q >= 0; q = queue->pop()) {
      const int32_t l = out[q];
      const uint8_t fq = flag[q];
      for (int k = 0; k < NK; ++k) {
        if ((fq & kNeed[k]) != kNeed[k]) continue;
        const Idx n = static_cast<Idx>(q + off_[k]);
        const uint8_t fn = flag[n];
        if (fn & kFree) {
          // Labelled when queued: no later path can reach it at a lower priority.
          flag[n] = fn & static_cast<uint8_t>(~kFree);
          out[n] = l;
          queue->push(n);
        }
      }
    }
  }

  const WatershedParams p_;
  const T* image_;
  const int32_t* markers_;
  const uint8_t* mask_;
  int32_t* out_;
  const int64_t n_;
  int64_t off_[8];

  Workspace<uint8_t> flag_;
  std::vector<Run> runs_;
  std::vector<int64_t> parent_;
  std::vector<T> run_min_, run_max_;
  std::vector<uint8_t> run_seeded_;
  std::vector<Run> comp_runs_;
  std::vector<Component<T>> comps_;
};

}  // namespace

template <typename T>
Status watershed_cpu(const WatershedParams& p, const T* image, const int32_t* markers,
                     const uint8_t* mask, int32_t* out) {
  if (p.height <= 0 || p.width <= 0) return Status::kOk;
  if (p.connectivity != 1 && p.connectivity != 2) return Status::kInvalidArgument;
  // 32-bit queue links halve the memory traffic whenever the image allows them.
  if (p.height * p.width < std::numeric_limits<int32_t>::max()) {
    return Flood<T, int32_t>(p, image, markers, mask, out).run();
  }
  return Flood<T, int64_t>(p, image, markers, mask, out).run();
}

template Status watershed_cpu<uint8_t>(const WatershedParams&, const uint8_t*, const int32_t*,
                                       const uint8_t*, int32_t*);
template Status watershed_cpu<uint16_t>(const WatershedParams&, const uint16_t*, const int32_t*,
                                        const uint8_t*, int32_t*);
template Status watershed_cpu<float>(const WatershedParams&, const float*, const int32_t*,
                                     const uint8_t*, int32_t*);
template Status watershed_cpu<double>(const WatershedParams&, const double*, const int32_t*,
                                      const uint8_t*, int32_t*);

Status watershed_emulate_cpu(const WatershedParams& p, const uint32_t* levels,
                             const int32_t* markers, const uint8_t* mask, const int64_t* order,
                             WatershedState* state, int64_t* parent, int32_t* out) {
  const int64_t n = p.height * p.width;
  if (n <= 0) return Status::kOk;
  if (p.connectivity != 1 && p.connectivity != 2) return Status::kInvalidArgument;
  if (n >= int64_t{0xFFFFFFFF}) return Status::kInvalidArgument;  // plateau steps are 32-bit
  // Sequential sweeps in the given order stand in for the GPU's concurrent threads: the steps
  // read neighbours that may or may not have been updated in the same sweep, as on the device.
  for (int64_t i = 0; i < n; ++i) watershed_init_element(p, levels, markers, mask, state, order[i]);
  for (bool changed = true; changed;) {
    changed = false;
    for (int64_t i = 0; i < n; ++i) {
      changed |= watershed_relax_element(p, levels, markers, mask, state, order[i]);
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    watershed_parent_element(p, markers, mask, state, parent, order[i]);
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int64_t i = 0; i < n; ++i) changed |= watershed_jump_element(parent, order[i]);
  }
  for (int64_t i = 0; i < n; ++i) watershed_label_element(markers, parent, out, order[i]);
  return Status::kOk;
}

}  // namespace cellrt
