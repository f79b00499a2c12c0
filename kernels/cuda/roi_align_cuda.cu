// roi_align CUDA launchers: grid-stride loops around the element functions of
// roi_align_element.h (the same code the CPU element loops run), on the caller's stream.
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <type_traits>

#include "cellrt/kernels/common/cuda_grid.h"
#include "cellrt/kernels/roi_align/roi_align.h"
#include "cellrt/kernels/roi_align/roi_align_element.h"

namespace cellrt {
namespace {

template <typename T>
__global__ void roi_align_forward_kernel(RoiAlignParams p, const T* input,
                                         const roi_align_acc_t<T>* rois, T* output, int64_t n) {
  for (int64_t i = grid_index(); i < n; i += grid_stride()) {
    output[i] = roi_align_forward_element(p, input, rois, i);
  }
}

template <typename R>
__global__ void roi_align_fpn_levels_kernel(RoiAlignFpnParams fpn, const R* rois, int64_t* levels,
                                            int64_t n) {
  for (int64_t k = grid_index(); k < n; k += grid_stride()) {
    levels[k] = roi_align_fpn_level(fpn, rois + 5 * k);
  }
}

bool valid(const RoiAlignParams& p) {
  return p.batch >= 0 && p.channels >= 0 && p.height >= 1 && p.width >= 1 && p.num_rois >= 0 &&
         p.pooled_h >= 1 && p.pooled_w >= 1;
}

}  // namespace

template <typename T, typename R>
Status roi_align_forward_cuda(const RoiAlignParams& p, const T* input, const R* rois, T* output,
                              cudaStream_t stream) {
  static_assert(std::is_same_v<R, roi_align_acc_t<T>>, "rois are of the arithmetic type");
  if (!valid(p)) return Status::kInvalidArgument;
  const int64_t n = p.num_rois * p.channels * p.pooled_h * p.pooled_w;
  if (n == 0) return Status::kOk;
  roi_align_forward_kernel<T><<<grid_blocks_for(n), kBlockThreads, 0, stream>>>(p, input, rois,
                                                                               output, n);
  return launch_status();
}

template <typename T, typename R>
Status roi_align_backward_cuda(const RoiAlignParams& p, const T* grad_output, const R* rois,
                               T* grad_input, cudaStream_t stream) {
  static_assert(std::is_same_v<R, roi_align_acc_t<T>>, "rois are of the arithmetic type");
  if (!valid(p)) return Status::kInvalidArgument;
  const int64_t n = p.num_rois * p.channels * p.pooled_h * p.pooled_w;
  return launch_grid_stride<roi_align_backward_element<T>>(n, stream, p, grad_output, rois,
                                                           grad_input);
}

template <typename R>
Status roi_align_fpn_levels_cuda(const RoiAlignFpnParams& fpn, int64_t num_rois, const R* rois,
                                 int64_t* levels, cudaStream_t stream) {
  if (fpn.num_levels < 1 || num_rois < 0) return Status::kInvalidArgument;
  if (num_rois == 0) return Status::kOk;
  roi_align_fpn_levels_kernel<R><<<grid_blocks_for(num_rois), kBlockThreads, 0, stream>>>(
      fpn, rois, levels, num_rois);
  return launch_status();
}

#define CELLRT_ROI_ALIGN_CUDA(T, R)                                                           \
  template Status roi_align_forward_cuda<T, R>(const RoiAlignParams&, const T*, const R*, T*, \
                                               cudaStream_t);                                 \
  template Status roi_align_backward_cuda<T, R>(const RoiAlignParams&, const T*, const R*,    \
                                                T*, cudaStream_t);

CELLRT_ROI_ALIGN_CUDA(float, float)
CELLRT_ROI_ALIGN_CUDA(__half, float)
CELLRT_ROI_ALIGN_CUDA(double, double)
#undef CELLRT_ROI_ALIGN_CUDA

template Status roi_align_fpn_levels_cuda<float>(const RoiAlignFpnParams&, int64_t, const float*,
                                                 int64_t*, cudaStream_t);
template Status roi_align_fpn_levels_cuda<double>(const RoiAlignFpnParams&, int64_t,
                                                  const double*, int64_t*, cudaStream_t);

}  // namespace cellrt
