// attention_fusion CUDA launchers: grid-stride loops around the element functions of
// attention_fusion_element.h. float and __half inputs compute and accumulate in float.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cellrt/kernels/attention_fusion/attention_fusion.h"
#include "cellrt/kernels/attention_fusion/attention_fusion_element.h"
#include "cellrt/kernels/common/cuda_grid.h"

namespace cellrt {

template <typename T>
Status attention_fusion_forward_cuda(const AttentionFusionParams& p, const T* features,
                                     const T* mask, const T* weight, const T* bias, T* out,
                                     cudaStream_t stream) {
  return launch_grid_stride<attention_fusion_forward_element<T>>(p.numel(), stream, p, features,
                                                                  mask, weight, bias, out);
}

template <typename T>
Status attention_fusion_backward_cuda(const AttentionFusionParams& p, const T* grad_out,
                                      const T* features, const T* mask, const T* weight,
                                      const T* bias, T* grad_features, T* grad_mask,
                                      T* grad_weight, T* grad_bias, float* workspace,
                                      cudaStream_t stream) {
  // Each step returns early when its own range is empty. With C == 0 the first still runs: it
  // writes grad_mask, a sum over no channels, as zeros.
  float* partial_w = workspace;
  float* partial_b = workspace + p.rois * p.channels;
  Status s = launch_grid_stride<attention_fusion_backward_input_element<T, float>>(
      p.rois * p.plane(), stream, p, grad_out, features, mask, weight, bias, grad_features,
      grad_mask);
  if (s != Status::kOk) return s;
  s = launch_grid_stride<attention_fusion_param_partial_element<T, float>>(
      p.rois * p.channels, stream, p, grad_out, features, mask, weight, bias, partial_w,
      partial_b);
  if (s != Status::kOk) return s;
  // With no rois the reduction writes zeros, which is the correct gradient.
  return launch_grid_stride<attention_fusion_param_reduce_element<T, float>>(
      p.channels, stream, p, partial_w, partial_b, grad_weight, grad_bias);
}

#define CELLRT_INSTANTIATE(T)                                                                 \
  template Status attention_fusion_forward_cuda<T>(const AttentionFusionParams&, const T*,    \
                                                   const T*, const T*, const T*, T*,          \
                                                   cudaStream_t);                             \
  template Status attention_fusion_backward_cuda<T>(const AttentionFusionParams&, const T*,   \
                                                    const T*, const T*, const T*, const T*,   \
                                                    T*, T*, T*, T*, float*, cudaStream_t);
CELLRT_INSTANTIATE(float)
CELLRT_INSTANTIATE(__half)
#undef CELLRT_INSTANTIATE

}  // namespace cellrt
