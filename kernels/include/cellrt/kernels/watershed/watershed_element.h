// Per-pixel steps of the parallel (GPU) watershed. The CPU path is a sequential priority flood
// (watershed_cpu.cpp); these steps compute the same labelling by fixed-point iteration, and a test
// runs them on the CPU in shuffled and reversed pixel order (watershed_emulate_cpu).
//
// Formulation. Every in-mask pixel x gets the state S(x) = (D(x), h(x)) packed in 64 bits:
//   D(x): the minimax arrival level, the lowest possible highest level on an in-mask path from
//         a marker to x (both ends included): the "water level" at which the flood reaches x;
//   h(x): steps since the path last rose to D(x), i.e. the breadth-first distance inside the
//         plateau of equal arrival level (0 for a pixel that raised the level itself).
// Markers are fixed at (level, 0). For any other pixel the state is the minimum over its in-mask
// neighbours n of extend(S(n), level(x)) (relax step). extend is monotone, so the asynchronous
// relaxation converges to the minimum over all paths, a unique fixed point whatever the order in
// which pixels are updated. Each pixel then points at its neighbour of smallest state (parent
// step; ties go to the first neighbour in the scan order below), the pointers form a forest
// rooted at marker pixels (the state strictly decreases along them), and pointer jumping (jump
// step) finds each pixel's marker.
//
// Equivalence with the priority flood (scikit-image's and the CPU path's): the flood pops pixels
// in non-decreasing (D, h) order and gives each pixel the label of its first-popped neighbour, a
// neighbour of smallest (D, h); here each pixel takes the label of a neighbour of smallest (D, h)
// too. The two can therefore only disagree if some pixel has smallest-state neighbours with
// different labels. With pairwise distinct in-mask values that cannot happen (all pixels of equal
// D hang off the one pixel of value D, and share its label), so the labels are identical; with
// equal values either choice is a valid watershed, and the differences stay downstream of such
// ties (tests/python/ops/test_watershed.py checks both statements).
//
// Levels are uint32 ranks of the image values (equal values, equal ranks), so an exact 64-bit
// state covers any input dtype. Unreached pixels keep kWatershedUnreached.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/watershed/watershed_params.h"

namespace cellrt {

// The packed (D, h) state. unsigned long long rather than uint64_t: CUDA's atomicMin has an
// overload for the former only (uint64_t is unsigned long on LP64 Linux).
using WatershedState = unsigned long long;
static_assert(sizeof(WatershedState) == 8);

constexpr WatershedState kWatershedUnreached = ~WatershedState{0};

CELLRT_HD int watershed_num_neighbours(const WatershedParams& p) {
  return p.connectivity == 1 ? 4 : 8;
}

// k-th neighbour of pixel idx in scikit-image's order (up, left, right, down, then up-left,
// up-right, down-left, down-right); false when it falls outside the image.
CELLRT_HD bool watershed_neighbour(const WatershedParams& p, int64_t idx, int k, int64_t* out) {
  const int dr = (k == 0 || k == 4 || k == 5) ? -1 : ((k == 3 || k == 6 || k == 7) ? 1 : 0);
  const int dc = (k == 1 || k == 4 || k == 6) ? -1 : ((k == 2 || k == 5 || k == 7) ? 1 : 0);
  const int64_t r = idx / p.width + dr;
  const int64_t c = idx % p.width + dc;
  if (r < 0 || r >= p.height || c < 0 || c >= p.width) return false;
  *out = r * p.width + c;
  return true;
}

// mask may be null: every pixel is inside.
CELLRT_HD bool watershed_in_mask(const uint8_t* mask, int64_t idx) {
  return mask == nullptr || mask[idx] != 0;
}

CELLRT_HD WatershedState watershed_pack(uint32_t level, uint32_t steps) {
  return (WatershedState{level} << 32) | steps;
}

// State of pixel x reached from a neighbour in state s: the level rises to x's own level if that
// is higher (and the plateau distance restarts), else x lies one step further on the plateau.
CELLRT_HD WatershedState watershed_extend(WatershedState s, uint32_t level_x) {
  const uint32_t d = static_cast<uint32_t>(s >> 32);
  if (level_x > d) return watershed_pack(level_x, 0);
  // h + 1 cannot overflow: the launchers require fewer than 2^32 - 1 pixels.
  return s + 1;
}

// Initial state: markers inside the mask at (level, 0), everything else unreached.
CELLRT_HD void watershed_init_element(const WatershedParams& p, const uint32_t* levels,
                                      const int32_t* markers, const uint8_t* mask,
                                      WatershedState* state, int64_t idx) {
  (void)p;
  const bool seed = watershed_in_mask(mask, idx) && markers[idx] != 0;
  state[idx] = seed ? watershed_pack(levels[idx], 0) : kWatershedUnreached;
}

// One relaxation of pixel idx from its neighbours' current states. Returns true if the state
// decreased (the iteration has not converged yet). Safe to run concurrently on all pixels.
CELLRT_HD bool watershed_relax_element(const WatershedParams& p, const uint32_t* levels,
                                       const int32_t* markers, const uint8_t* mask,
                                       WatershedState* state, int64_t idx) {
  if (!watershed_in_mask(mask, idx) || markers[idx] != 0) return false;  // outside, or fixed
  WatershedState best = kWatershedUnreached;
  const int nk = watershed_num_neighbours(p);
  for (int k = 0; k < nk; ++k) {
    int64_t n;
    if (!watershed_neighbour(p, idx, k, &n) || !watershed_in_mask(mask, n)) continue;
    const WatershedState s = atomic_load(&state[n]);
    if (s == kWatershedUnreached) continue;
    const WatershedState e = watershed_extend(s, levels[idx]);
    best = e < best ? e : best;
  }
  if (best < atomic_load(&state[idx])) {
    atomic_min(&state[idx], best);
    return true;
  }
  return false;
}

// After convergence: parent[idx] = the in-mask neighbour of smallest state (first in scan order
// on ties), idx itself for a marker, -1 outside the mask or where no marker reaches.
CELLRT_HD void watershed_parent_element(const WatershedParams& p, const int32_t* markers,
                                        const uint8_t* mask, const WatershedState* state,
                                        int64_t* parent, int64_t idx) {
  if (!watershed_in_mask(mask, idx) || state[idx] == kWatershedUnreached) {
    parent[idx] = -1;
    return;
  }
  if (markers[idx] != 0) {
    parent[idx] = idx;
    return;
  }
  int64_t arg = -1;
  WatershedState best = kWatershedUnreached;
  const int nk = watershed_num_neighbours(p);
  for (int k = 0; k < nk; ++k) {
    int64_t n;
    if (!watershed_neighbour(p, idx, k, &n) || !watershed_in_mask(mask, n)) continue;
    if (state[n] < best) {
      best = state[n];
      arg = n;
    }
  }
  parent[idx] = arg;  // a reached non-marker always has a reached neighbour
}

// Pointer jumping: parent[idx] <- parent[parent[idx]] until it is a root (a marker, its own
// parent). Returns true if it moved. Concurrent updates are safe: a pointer only ever moves to
// an ancestor in the same tree, so every value read is a valid ancestor.
CELLRT_HD bool watershed_jump_element(int64_t* parent, int64_t idx) {
  const int64_t q = atomic_load(&parent[idx]);
  if (q < 0) return false;
  const int64_t r = atomic_load(&parent[q]);
  if (r == q) return false;
  parent[idx] = r;
  return true;
}

// Final labels: the label of the marker at the root of idx's tree, 0 where unreached.
CELLRT_HD void watershed_label_element(const int32_t* markers, const int64_t* parent,
                                       int32_t* out, int64_t idx) {
  const int64_t root = parent[idx];
  out[idx] = root < 0 ? 0 : markers[root];
}

}  // namespace cellrt
