// nms element functions: the single definition of the IoU test and of one 64-bit suppression
// word. The CPU grid sweep, the CUDA mask kernel and the CPU emulation of that kernel all call
// these, so every path suppresses exactly the same pairs.
//
// Boxes are 4 consecutive values x1, y1, x2, y2 (corner coordinates, any unit, no +1 pixel
// convention): area = (x2 - x1) * (y2 - y1), exactly as torchvision.ops.nms.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/hd.h"
#include "cellrt/kernels/nms/nms_params.h"

namespace cellrt {

// Boxes per column block of the CUDA mask = bits in one suppression word = threads per block.
inline constexpr int64_t kNmsBlock = 64;

// Products that are never fused into a neighbouring add. nvcc contracts a*b+c into an FMA by
// default, which rounds once instead of twice and would move IoU values that sit on the threshold
// away from torchvision's CPU result; the host side is compiled with -ffp-contract=off.
CELLRT_HD float nms_mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

CELLRT_HD double nms_mul(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

template <typename T>
CELLRT_HD T nms_box_area(const T* b) {
  return nms_mul(b[2] - b[0], b[3] - b[1]);
}

// Does the kept (higher-ranked) box suppress the candidate? IoU is computed in T with
// torchvision's operation order (max/min of corners, clamp at 0, inter / (area_kept + area_cand -
// inter)) and compared in double against the threshold, like torchvision's `ovr > iou_threshold`
// with a float ovr and a double threshold.
//
// Why NaN needs no branch: a NaN coordinate makes that box's area NaN, hence the union and the
// IoU NaN, and `NaN > threshold` is false; such a box neither suppresses nor is suppressed.
// The same holds for boxes whose area is infinite (IoU is 0 or NaN) and for two zero-area boxes
// (0 / 0). Consequence used by the CPU sweep: for threshold >= 0 only pairs whose interiors
// overlap in x and in y (w > 0 and h > 0) can ever suppress.
template <typename T>
CELLRT_HD bool nms_suppresses(const T* kept, T area_kept, const T* cand, T area_cand,
                              double iou_threshold) {
  // Written as (a < b ? b : a) / (b < a ? b : a), the std::max / std::min forms, so even the sign
  // of a zero matches a std::max-based implementation.
  const T xx1 = kept[0] < cand[0] ? cand[0] : kept[0];
  const T yy1 = kept[1] < cand[1] ? cand[1] : kept[1];
  const T xx2 = cand[2] < kept[2] ? cand[2] : kept[2];
  const T yy2 = cand[3] < kept[3] ? cand[3] : kept[3];
  const T w = T(0) < xx2 - xx1 ? xx2 - xx1 : T(0);
  const T h = T(0) < yy2 - yy1 ? yy2 - yy1 : T(0);
  const T inter = nms_mul(w, h);
  const T iou = inter / (area_kept + area_cand - inter);
  return static_cast<double>(iou) > iou_threshold;
}

// One word of the CUDA suppression mask: bit k is set when box i (a row, in descending-score
// order) suppresses box col_block * kNmsBlock + k, which must come later (> i) in that order and,
// for batched NMS, be of the same category. Boxes and categories are in score order.
//   box_i:     the 4 coordinates of box i
//   cls_i:     category of box i (ignored when col_cls is null)
//   col_boxes: the column block's boxes, 4 values each: a shared-memory copy on the GPU, simply
//              sorted_boxes + 4 * col_block * kNmsBlock on the CPU
//   col_cls:   the column block's categories, or null for single-class NMS
// Words of blocks that lie entirely at or before i are 0 (the host reduction never reads them).
template <typename T>
CELLRT_HD uint64_t nms_mask_word(const NmsParams& p, const T* box_i, int64_t cls_i,
                                 const T* col_boxes, const int64_t* col_cls, int64_t i,
                                 int64_t col_block) {
  const int64_t col_start = col_block * kNmsBlock;
  const int64_t col_count = p.n - col_start < kNmsBlock ? p.n - col_start : kNmsBlock;
  const T area_i = nms_box_area(box_i);
  uint64_t word = 0;
  for (int64_t k = i >= col_start ? i - col_start + 1 : 0; k < col_count; ++k) {
    if (col_cls != nullptr && col_cls[k] != cls_i) continue;
    const T* b = col_boxes + 4 * k;
    if (nms_suppresses(box_i, area_i, b, nms_box_area(b), p.iou_threshold)) {
      word |= uint64_t{1} << k;
    }
  }
  return word;
}

// The mask kernel walks tiles of kNmsBlock rows x one column block; tile t covers row block
// t / col_blocks and column block t % col_blocks.
CELLRT_HD void nms_tile_coords(int64_t tile, int64_t col_blocks, int64_t* row_block,
                               int64_t* col_block) {
  *row_block = tile / col_blocks;
  *col_block = tile % col_blocks;
}

}  // namespace cellrt
