// paste_masks CUDA launchers. Blocks along y walk the rois, threads along x walk each roi's
// pixel window, and overlaps are resolved by atomicMax on packed (score, index) keys, so the
// result does not depend on scheduling; a second kernel decodes keys into labels.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cellrt/kernels/common/cuda_grid.h"
#include "cellrt/kernels/paste_masks/paste_masks.h"
#include "cellrt/kernels/paste_masks/paste_masks_element.h"

namespace cellrt {

namespace {

// Blocks per roi: a typical nucleus window (<= 50 x 50 px) fits in them; larger windows loop.
constexpr unsigned kBlocksPerRoi = 8;
constexpr int64_t kMaxGridY = 65535;

template <typename T>
__global__ void paste_keys_kernel(PasteMasksParams p, const T* masks, const float* boxes,
                                  const float* scores, paste_key_t* keys) {
  for (int64_t roi = blockIdx.y; roi < p.rois; roi += gridDim.y) {
    const PasteRoi<float> g = paste_roi<float>(p, boxes, scores, roi);
    for (int64_t k = grid_index(); k < g.count(); k += grid_stride())
      paste_masks_key_element<T, float>(p, masks, g, roi, k, keys);
  }
}

}  // namespace

template <typename T>
Status paste_masks_cuda(const PasteMasksParams& p, const T* masks, const float* boxes,
                        const float* scores, unsigned long long* keys, int32_t* labels,
                        cudaStream_t stream) {
  const int64_t pixels = p.image_h * p.image_w;
  if (pixels == 0) return Status::kOk;
  Status s = to_status(
      cudaMemsetAsync(keys, 0, static_cast<size_t>(pixels) * sizeof(paste_key_t), stream));
  if (s != Status::kOk) return s;
  if (p.rois > 0) {
    const dim3 grid(kBlocksPerRoi, static_cast<unsigned>(p.rois < kMaxGridY ? p.rois : kMaxGridY));
    paste_keys_kernel<T><<<grid, kBlockThreads, 0, stream>>>(p, masks, boxes, scores, keys);
    if ((s = launch_status()) != Status::kOk) return s;
  }
  return launch_grid_stride<paste_masks_decode_element>(pixels, stream, keys, labels);
}

#define CELLRT_INSTANTIATE(T)                                                                 \
  template Status paste_masks_cuda<T>(const PasteMasksParams&, const T*, const float*,        \
                                      const float*, unsigned long long*, int32_t*,            \
                                      cudaStream_t);
CELLRT_INSTANTIATE(float)
CELLRT_INSTANTIATE(__half)
#undef CELLRT_INSTANTIATE

}  // namespace cellrt
