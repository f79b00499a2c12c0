// attention_fusion host API. All arrays are dense row-major: features, grad_out and
// grad_features (R, C, H, W); mask and grad_mask (R, 1, H, W); weight, bias, grad_weight and
// grad_bias (C,). See attention_fusion_element.h for the formula.
#pragma once

#include <cstdint>

#include "cellrt/kernels/attention_fusion/attention_fusion_params.h"
#include "cellrt/kernels/common/status.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// CPU, T = float or double. The forward is one pass over memory; so is the backward, which
// fuses the elementwise grad_features, the channel sum of grad_mask and the per-(roi, channel)
// partial sums of grad_weight / grad_bias into one sweep per roi (deterministic: every sum has a
// fixed order, independent of the thread count). Sums are accumulated in double.
template <typename T>
Status attention_fusion_forward_cpu(const AttentionFusionParams& p, const T* features,
                                    const T* mask, const T* weight, const T* bias, T* out);

template <typename T>
Status attention_fusion_backward_cpu(const AttentionFusionParams& p, const T* grad_out,
                                     const T* features, const T* mask, const T* weight,
                                     const T* bias, T* grad_features, T* grad_mask,
                                     T* grad_weight, T* grad_bias);

// The GPU's decomposition run as plain loops over the element functions on the CPU (forward:
// one element per output; backward: one element per (r, y, x) for the input gradients, then the
// two-stage parameter reduction). For tests: the fused CPU path above must agree with it.
template <typename T>
Status attention_fusion_forward_elements_cpu(const AttentionFusionParams& p, const T* features,
                                             const T* mask, const T* weight, const T* bias,
                                             T* out);

template <typename T>
Status attention_fusion_backward_elements_cpu(const AttentionFusionParams& p, const T* grad_out,
                                              const T* features, const T* mask, const T* weight,
                                              const T* bias, T* grad_features, T* grad_mask,
                                              T* grad_weight, T* grad_bias);

#if defined(CELLRT_WITH_CUDA)
// CUDA, T = float or __half, computing in float and accumulating in float. Device pointers; the
// caller owns every buffer. The backward needs a device workspace of
// attention_fusion_backward_workspace_floats(p) floats (the per-(roi, channel) partial sums).
inline int64_t attention_fusion_backward_workspace_floats(const AttentionFusionParams& p) {
  return 2 * p.rois * p.channels;
}

template <typename T>
Status attention_fusion_forward_cuda(const AttentionFusionParams& p, const T* features,
                                     const T* mask, const T* weight, const T* bias, T* out,
                                     cudaStream_t stream);

template <typename T>
Status attention_fusion_backward_cuda(const AttentionFusionParams& p, const T* grad_out,
                                      const T* features, const T* mask, const T* weight,
                                      const T* bias, T* grad_features, T* grad_mask,
                                      T* grad_weight, T* grad_bias, float* workspace,
                                      cudaStream_t stream);
#endif

}  // namespace cellrt
