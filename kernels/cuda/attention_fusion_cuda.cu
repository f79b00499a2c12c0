// attention_fusion CUDA launchers: grid-stride loops around the element functions of
// attention_fusion_element.h. float and __half inputs compute and accumulate in float.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cellrt/kernels/attention_fusion/attention_fusion.h"
#include "cellrt/kernels/attention_fusion/attention_fusion_element.h"
#include "cellrt/kernels/common/index.h"

namespace cellrt {

namespace {

constexpr int kThreads = 256;

Status to_status(cudaError_t e) { return e == cudaSuccess ? Status::kOk : Status::kCudaError; }

__device__ __forceinline__ int64_t grid_start() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

template <typename T>
__global__ void forward_kernel(AttentionFusionParams p, const T* f, const T* m, const T* w,
                               const T* b, T* out) {
  for (int64_t i = grid_start(); i < p.numel(); i += grid_stride())
    attention_fusion_forward_element<T>(p, f, m, w, b, out, i);
}

template <typename T>
__global__ void backward_input_kernel(AttentionFusionParams p, const T* go, const T* f,
                                      const T* m, const T* w, const T* b, T* gf, T* gm) {
  for (int64_t j = grid_start(); j < p.rois * p.plane(); j += grid_stride())
    attention_fusion_backward_input_element<T, float>(p, go, f, m, w, b, gf, gm, j);
}

template <typename T>
__global__ void param_partial_kernel(AttentionFusionParams p, const T* go, const T* f,
                                     const T* m, const T* w, const T* b, float* pw, float* pb) {
  for (int64_t q = grid_start(); q < p.rois * p.channels; q += grid_stride())
    attention_fusion_param_partial_element<T, float>(p, go, f, m, w, b, pw, pb, q);
}

template <typename T>
__global__ void param_reduce_kernel(AttentionFusionParams p, const float* pw, const float* pb,
                                    T* gw, T* gb) {
  for (int64_t c = grid_start(); c < p.channels; c += grid_stride())
    attention_fusion_param_reduce_element<T, float>(p, pw, pb, gw, gb, c);
}

}  // namespace

template <typename T>
Status attention_fusion_forward_cuda(const AttentionFusionParams& p, const T* features,
                                     const T* mask, const T* weight, const T* bias, T* out,
                                     cudaStream_t stream) {
  if (p.numel() == 0) return Status::kOk;
  const auto blocks = static_cast<unsigned>(grid_blocks(p.numel(), kThreads));
  forward_kernel<T><<<blocks, kThreads, 0, stream>>>(p, features, mask, weight, bias, out);
  return to_status(cudaGetLastError());
}

template <typename T>
Status attention_fusion_backward_cuda(const AttentionFusionParams& p, const T* grad_out,
                                      const T* features, const T* mask, const T* weight,
                                      const T* bias, T* grad_features, T* grad_mask,
                                      T* grad_weight, T* grad_bias, float* workspace,
                                      cudaStream_t stream) {
  if (p.channels == 0) return Status::kOk;
  float* partial_w = workspace;
  float* partial_b = workspace + p.rois * p.channels;
  if (p.rois * p.plane() > 0) {
    const auto blocks = static_cast<unsigned>(grid_blocks(p.rois * p.plane(), kThreads));
    backward_input_kernel<T><<<blocks, kThreads, 0, stream>>>(
        p, grad_out, features, mask, weight, bias, grad_features, grad_mask);
  }
  if (p.rois > 0) {
    const auto blocks = static_cast<unsigned>(grid_blocks(p.rois * p.channels, kThreads));
    param_partial_kernel<T><<<blocks, kThreads, 0, stream>>>(p, grad_out, features, mask, weight,
                                                             bias, partial_w, partial_b);
  }
  // With no rois the reduction writes zeros, which is the correct gradient.
  const auto blocks = static_cast<unsigned>(grid_blocks(p.channels, kThreads));
  param_reduce_kernel<T><<<blocks, kThreads, 0, stream>>>(p, partial_w, partial_b, grad_weight,
                                                          grad_bias);
  return to_status(cudaGetLastError());
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
