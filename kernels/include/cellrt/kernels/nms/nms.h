// nms host API.
//
// CPU: greedy NMS with a uniform spatial grid over the kept boxes, so each candidate is tested
// only against kept boxes near it; the greedy order (descending score, ties by lower index, NaN
// scores first like torch.sort) is preserved, so the keep list equals torchvision.ops.nms.
//
// CUDA: torchvision-style bitmask algorithm. The caller sorts boxes by score, the kernel writes
// an n x col_blocks matrix of 64-bit suppression words (nms_mask_word), the mask is copied to the
// host and nms_reduce_mask turns it into the keep list. Launch geometry and workspace size are
// the pure host functions below, shared by the launcher and its CPU emulation.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/nms/nms_element.h"
#include "cellrt/kernels/nms/nms_params.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// ---- CPU ----------------------------------------------------------------------------------------

// Greedy NMS. boxes: n x 4 (x1, y1, x2, y2), scores: n (float64: float32 scores convert exactly),
// idxs: n categories or null (boxes of different categories never suppress each other).
// keep: room for n indices; receives the kept box indices in descending-score order (ties by
// lower index), *num_keep their count.
template <typename T>
Status nms_cpu(const NmsParams& p, const T* boxes, const double* scores, const int64_t* idxs,
               int64_t* keep, int64_t* num_keep);

// The greedy order: box indices sorted by descending score, NaN first, ties by lower index.
Status nms_sort_order_cpu(int64_t n, const double* scores, int64_t* order);

// ---- CUDA path, host parts (pure C++, tested on the CPU) ---------------------------------------

struct NmsMaskLaunch {
  int64_t col_blocks;  // mask words per row
  int64_t tiles;       // kNmsBlock-row x one-column-block tiles (col_blocks^2)
  int64_t blocks;      // CUDA blocks of the tile-stride loop
  int64_t threads;     // threads per block (= kNmsBlock)
};

inline NmsMaskLaunch nms_mask_launch_config(int64_t n, int64_t max_blocks = 65535) {
  NmsMaskLaunch c{};
  c.col_blocks = ceil_div(n, kNmsBlock);
  c.tiles = c.col_blocks * c.col_blocks;
  c.blocks = grid_blocks(c.tiles, 1, max_blocks);
  c.threads = kNmsBlock;
  return c;
}

// Mask words (uint64) the launcher writes: n rows of col_blocks words. Quadratic in n: 100k boxes
// need 1.25 GB, so callers should cap n (e.g. top-k before NMS) on the GPU path.
inline int64_t nms_mask_words(int64_t n) { return n * ceil_div(n, kNmsBlock); }
inline int64_t nms_mask_workspace_bytes(int64_t n) {
  return nms_mask_words(n) * static_cast<int64_t>(sizeof(uint64_t));
}
// Largest n whose mask size stays far from int64 overflow (the mask would not fit any GPU anyway).
inline constexpr int64_t kNmsMaxMaskBoxes = int64_t{1} << 28;

// Host reduction of the mask (rows in score order): walks rows in order, keeps row i unless an
// earlier kept row suppressed it, then ORs row i into the removed set. keep_pos receives the kept
// positions (indices into the sorted order), *num_keep their count.
Status nms_reduce_mask(const uint64_t* mask, int64_t n, int64_t col_blocks, int64_t* keep_pos,
                       int64_t* num_keep);

// Test-only CPU emulation of the mask kernel: runs nms_mask_word for every (tile, thread) the
// launch configuration of nms_mask_cuda would run, in forward, reversed or shuffled order, with the
// column block read straight from global memory instead of a shared-memory copy. Returns
// kInvalidArgument if some mask word would be written twice or never (a launch-geometry bug).
enum class NmsEmulationOrder { kForward = 0, kReversed = 1, kShuffled = 2 };

template <typename T>
Status nms_mask_emulate_cpu(const NmsParams& p, const T* sorted_boxes, const int64_t* sorted_idxs,
                            uint64_t* mask, NmsEmulationOrder order, uint64_t seed);

// ---- CUDA ---------------------------------------------------------------------------------------
#if defined(CELLRT_WITH_CUDA)
// sorted_boxes: n x 4 in descending-score order; sorted_idxs: their categories or null;
// mask: nms_mask_words(n) words of device memory. p.col_blocks must be ceil_div(n, kNmsBlock).
template <typename T>
Status nms_mask_cuda(const NmsParams& p, const T* sorted_boxes, const int64_t* sorted_idxs,
                     uint64_t* mask, cudaStream_t stream);
#endif

}  // namespace cellrt
