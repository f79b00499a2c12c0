// paste_masks CUDA launchers. Blocks along y walk the rois, threads along x walk each roi's
// pixel window, and overlaps are resolved by atomicMax on packed (score, index) keys, so the
// result does not depend on scheduling; a second kernel decodes keys into labels.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/paste_masks/paste_masks.h"
#include "cellrt/kernels/paste_masks/paste_masks_element.h"

namespace cellrt {

namespace {

constexpr int kThreads = 256;
// Blocks per roi: a typical nucleus window (<= 50 x 50 px) fits in them; larger windows loop.
constexpr unsigned kBlocksPerRoi = 8;
constexpr int64_t kMaxGridY = 65535;

Status to_status(cudaError_t e) { return e == cudaSuccess ? Status::kOk : Status::kCudaError; }

template <typename T>
__global__ void paste_keys_kernel(PasteMasksParams p, const T* masks, const float* boxes,
                                  const float* scores, paste_key_t* keys) {
  for (int64_t roi = blockIdx.y; roi < p.rois; roi += gridDim.y) {
    const PasteRoi<float> g = paste_roi<float>(p, boxes, scores, roi);
    for (int64_t k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; k < g.count();
         k += static_cast<int64_t>(blockDim.x) * gridDim.x)
      paste_masks_key_element<T, float>(p, masks, g, roi, k, keys);
  }
}

__global__ void decode_kernel(int64_t n, const paste_key_t* keys, int32_t* labels) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
    paste_masks_decode_element(keys, labels, i);
}

}  // namespace

template <typename T>
Status paste_masks_cuda(const PasteMasksParams& p, const T* masks, const float* boxes,
                        const float* scores, unsigned long long* keys, int32_t* labels,
                        cudaStream_t stream) {
  const int64_t pixels = p.image_h * p.image_w;
  if (pixels == 0) return Status::kOk;
  cudaError_t e = cudaMemsetAsync(keys, 0, static_cast<size_t>(pixels) * sizeof(paste_key_t),
                                  stream);
  if (e != cudaSuccess) return Status::kCudaError;
  if (p.rois > 0) {
    const dim3 grid(kBlocksPerRoi, static_cast<unsigned>(p.rois < kMaxGridY ? p.rois : kMaxGridY));
    paste_keys_kernel<T><<<grid, kThreads, 0, stream>>>(p, masks, boxes, scores, keys);
  }
  const auto blocks = static_cast<unsigned>(grid_blocks(pixels, kThreads));
  decode_kernel<<<blocks, kThreads, 0, stream>>>(pixels, keys, labels);
  return to_status(cudaGetLastError());
}

#define CELLRT_INSTANTIATE(T)                                                                 \
  template Status paste_masks_cuda<T>(const PasteMasksParams&, const T*, const float*,        \
                                      const float*, unsigned long long*, int32_t*,            \
                                      cudaStream_t);
CELLRT_INSTANTIATE(float)
CELLRT_INSTANTIATE(__half)
#undef CELLRT_INSTANTIATE

}  // namespace cellrt
