// Element functions of the label family: one pixel (or one table entry) per call, shared by the
// CUDA kernels, the CPU drivers and the CPU emulation of the GPU algorithm used in tests.
//
// Connected components on the GPU are union-find labelling in the style of Komura (2015) and
// Playne & Hawick (2018): every foreground pixel starts as its own tree (init), each pixel joins
// its trees with those of its already-scanned neighbours by atomic hooking (merge), every pixel
// then points straight at its root (compress), and roots are numbered by a prefix sum over root
// flags (root_flag + scan + write). parent[] holds flat pixel indices (y * width + x), -1 for
// background. Invariant: parent[i] <= i. Hence every root is the first pixel of its component in
// raster order, following parents always terminates, and numbering roots in index order gives
// labels in raster order of each component's first pixel: the same numbering as the CPU path.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/label/label_params.h"

namespace cellrt {

// Root of i's tree. Read-only, so it may run while other threads hook roots: parents only ever
// move to smaller indices of the same set, so any value read is a valid ancestor.
CELLRT_HD int32_t label_find_root(const int32_t* parent, int32_t i) {
  int32_t p = atomic_load(&parent[i]);
  while (p != i) {
    i = p;
    p = atomic_load(&parent[i]);
  }
  return i;
}

// Joins the sets of pixels a and b. The larger root is hooked under the smaller one with
// atomic_min: if it returns the old root itself the hook succeeded; otherwise another thread
// hooked that root to `old` first (and atomic_min may have lowered it further to a), so the loop
// goes on joining a with old's set. Lock-free; every step strictly lowers some parent.
CELLRT_HD void label_union(int32_t* parent, int32_t a, int32_t b) {
  for (;;) {
    a = label_find_root(parent, a);
    b = label_find_root(parent, b);
    if (a == b) return;
    if (a > b) {
      const int32_t t = a;
      a = b;
      b = t;
    }
    const int32_t old = atomic_min(&parent[b], a);
    if (old == b) return;
    b = old;
  }
}

// Step 1: each foreground pixel is its own root; background is -1.
CELLRT_HD void label_init_element(const uint8_t* fg, int32_t* parent, int64_t i) {
  parent[i] = fg[i] != 0 ? static_cast<int32_t>(i) : -1;
}

// Step 2: join pixel i with its foreground neighbours that precede it in raster order (left, up,
// and for 8-connectivity up-left and up-right); every adjacency is thus handled exactly once.
// A diagonal is skipped when a 4-neighbour already links both pixels (e.g. up-left is the left
// neighbour of up, joined by up's own step), which saves atomics without changing the result.
CELLRT_HD void label_merge_element(const LabelParams& p, const uint8_t* fg, int32_t* parent,
                                   int64_t i) {
  if (fg[i] == 0) return;
  const int64_t y = i / p.width;
  const int64_t x = i - y * p.width;
  const auto self = static_cast<int32_t>(i);
  const bool left = x > 0 && fg[i - 1] != 0;
  if (left) label_union(parent, self, self - 1);
  if (y == 0) return;
  const int64_t up = i - p.width;
  if (fg[up] != 0) {
    label_union(parent, self, static_cast<int32_t>(up));
    return;
  }
  if (p.connectivity != 2) return;
  if (!left && x > 0 && fg[up - 1] != 0) label_union(parent, self, static_cast<int32_t>(up - 1));
  if (x + 1 < p.width && fg[up + 1] != 0) {
    label_union(parent, self, static_cast<int32_t>(up + 1));
  }
}

// Step 3 (after every merge finished): point each pixel straight at its root.
CELLRT_HD void label_compress_element(int32_t* parent, int64_t i) {
  const int32_t p = atomic_load(&parent[i]);
  if (p < 0 || p == i) return;
  atomic_store(&parent[i], label_find_root(parent, p));
}

// Step 4: flag[i] = 1 where pixel i is a root. An inclusive prefix sum of the flags then holds,
// at each root, its label 1..N (roots counted in raster order).
CELLRT_HD void label_root_flag_element(const int32_t* parent, int32_t* flag, int64_t i) {
  flag[i] = parent[i] == i ? 1 : 0;
}

// Step 5: out[i] = label of i's root (parent[] compressed), 0 for background.
CELLRT_HD void label_write_element(const int32_t* parent, const int32_t* rank, int32_t* out,
                                   int64_t i) {
  const int32_t r = parent[i];
  out[i] = r < 0 ? 0 : rank[r];
}

// ---- Label-image utilities: per-label area histogram and lookup-table relabelling. ----

// counts[labels[i]] += 1 for instance pixels (labels[i] > 0; background is not counted, which on
// the GPU saves an atomic for most pixels). counts has one entry per label value 0..max.
template <typename L, typename C>
CELLRT_HD void label_histogram_element(const L* labels, C* counts, int64_t i) {
  const L v = labels[i];
  if (v > 0) atomic_add(&counts[v], C(1));
}

// out[i] = lut[labels[i]]; index and value types may differ (dense ids -> original values).
template <typename I, typename V>
CELLRT_HD void label_lookup_element(const I* labels, const V* lut, V* out, int64_t i) {
  out[i] = lut[labels[i]];
}

// relabel_sequential's table: value v keeps its rank among the present values (rank = inclusive
// prefix count of present values up to v), absent values and 0 map to 0.
template <typename L, typename C>
CELLRT_HD void relabel_lut_element(const C* counts, const int64_t* present_rank, L* lut,
                                   int64_t v) {
  lut[v] = v > 0 && counts[v] > 0 ? static_cast<L>(present_rank[v]) : L(0);
}

// remove_small_objects' table: value v survives if its area is at least min_size.
template <typename L, typename C>
CELLRT_HD void remove_small_lut_element(const C* counts, int64_t min_size, L* lut, int64_t v) {
  lut[v] = v > 0 && static_cast<int64_t>(counts[v]) >= min_size ? static_cast<L>(v) : L(0);
}

// ---- fill_holes. A hole is a 4-connected component of background (label 0) pixels that does
// not touch the image border and whose 4-neighbours outside it all carry one instance label; it
// is filled with that label. comp[] holds the background components (1..M, 0 on instances) and
// owner[c] their verdict: kHoleNone, kHoleConflict, or the single neighbouring instance. ----

template <typename L>
CELLRT_HD void fill_holes_claim(L* owner, L v) {
  const L old = atomic_cas(owner, L(kHoleNone), v);
  if (old != L(kHoleNone) && old != v) atomic_min(owner, L(kHoleConflict));
}

// Any order of calls reaches the same owner table: kHoleConflict is absorbing (atomic_min) and
// the first claim is kept only while every other claim agrees with it.
template <typename L>
CELLRT_HD void fill_holes_owner_element(const LabelParams& p, const L* labels, const int32_t* comp,
                                        L* owner, int64_t i) {
  if (labels[i] != 0) return;
  L* o = &owner[comp[i]];
  if (atomic_load(o) == L(kHoleConflict)) return;  // decided already: not a hole
  const int64_t y = i / p.width;
  const int64_t x = i - y * p.width;
  if (y == 0 || x == 0 || y == p.height - 1 || x == p.width - 1) {
    atomic_min(o, L(kHoleConflict));
    return;
  }
  const L nb[4] = {labels[i - 1], labels[i + 1], labels[i - p.width], labels[i + p.width]};
  for (const L v : nb) {
    if (v != 0) fill_holes_claim(o, v);
  }
}

template <typename L>
CELLRT_HD void fill_holes_write_element(const L* labels, const int32_t* comp, const L* owner,
                                        L* out, int64_t i) {
  const L v = labels[i];
  if (v != 0) {
    out[i] = v;
    return;
  }
  const L o = owner[comp[i]];
  out[i] = o > 0 ? o : L(0);
}

}  // namespace cellrt
