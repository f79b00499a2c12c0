// nms CUDA launcher: the suppression-mask kernel of the bitmask algorithm. Sorting (by the caller)
// and the host reduction (nms_reduce_mask) are not here; the per-word semantics are
// nms_mask_word in nms_element.h, which the CPU emulation test runs in shuffled order.
#include <cuda_runtime.h>

#include "cellrt/kernels/common/cuda_status.h"
#include "cellrt/kernels/nms/nms.h"

namespace cellrt {
namespace {

// Tile-stride loop: each block stages one column block of kNmsBlock boxes in shared memory, then
// each of its kNmsBlock threads computes one mask word (one row of the tile). blockDim.x must be
// kNmsBlock. Both __syncthreads are reached by all threads: the tile loop bound is block-uniform.
template <typename T>
__global__ void nms_mask_kernel(NmsParams p, int64_t tiles, const T* boxes, const int64_t* cls,
                                uint64_t* mask) {
  __shared__ T col_boxes[kNmsBlock * 4];
  __shared__ int64_t col_cls[kNmsBlock];
  const int64_t t = threadIdx.x;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    int64_t rb = 0, cb = 0;
    nms_tile_coords(tile, p.col_blocks, &rb, &cb);
    const int64_t j = cb * kNmsBlock + t, i = rb * kNmsBlock + t;
    if (j < p.n) {
      for (int c = 0; c < 4; ++c) col_boxes[4 * t + c] = boxes[4 * j + c];
      if (cls != nullptr) col_cls[t] = cls[j];
    }
    __syncthreads();
    if (i < p.n) {
      mask[i * p.col_blocks + cb] = nms_mask_word(p, boxes + 4 * i, cls ? cls[i] : 0, col_boxes,
                                                  cls ? col_cls : nullptr, i, cb);
    }
    __syncthreads();
  }
}

}  // namespace

template <typename T>
Status nms_mask_cuda(const NmsParams& p, const T* sorted_boxes, const int64_t* sorted_idxs,
                     uint64_t* mask, cudaStream_t stream) {
  if (p.n < 0 || p.n > kNmsMaxMaskBoxes || p.col_blocks != ceil_div(p.n, kNmsBlock)) {
    return Status::kInvalidArgument;
  }
  if (p.n == 0) return Status::kOk;
  if (sorted_boxes == nullptr || mask == nullptr) return Status::kInvalidArgument;
  const NmsMaskLaunch c = nms_mask_launch_config(p.n);
  nms_mask_kernel<T><<<static_cast<unsigned>(c.blocks), static_cast<unsigned>(c.threads), 0,
                       stream>>>(p, c.tiles, sorted_boxes, sorted_idxs, mask);
  return launch_status();
}

template Status nms_mask_cuda<float>(const NmsParams&, const float*, const int64_t*, uint64_t*,
                                     cudaStream_t);
template Status nms_mask_cuda<double>(const NmsParams&, const double*, const int64_t*, uint64_t*,
                                      cudaStream_t);

}  // namespace cellrt
