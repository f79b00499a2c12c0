// Grid-stride loops for the CUDA launchers. CUDA only: include from .cu files.
//
// Most kernels are "call the element function for every index i < n" (STYLE.md section 6): one
// template kernel does that for any element function whose last parameter is the int64_t index,
// so a launcher reads launch_grid_stride<label_merge_element>(n, stream, p, fg, parent). Kernels
// that do more per index (store a returned value, raise a flag) loop with grid_index() and
// grid_stride() themselves.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "cellrt/kernels/common/cuda_status.h"
#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/common/status.h"

namespace cellrt {

// Threads per block of the 1-D grid-stride kernels.
inline constexpr int kBlockThreads = 256;

// First index of this thread and the distance to its next one, in 64-bit arithmetic (a grid of
// 65535 x 256 threads already passes 2^24 indices, and n may exceed 2^31).
__device__ __forceinline__ int64_t grid_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(blockDim.x) * gridDim.x;
}

// Blocks of kBlockThreads for n indices (n >= 1).
inline unsigned grid_blocks_for(int64_t n) {
  return static_cast<unsigned>(grid_blocks(n, kBlockThreads));
}

// Element(args..., i) for every i in [0, n). Element is an element function (CELLRT_HD); args
// are passed by value (params structs, device pointers).
template <auto Element, typename... Args>
__global__ void grid_stride_kernel(int64_t n, Args... args) {
  for (int64_t i = grid_index(); i < n; i += grid_stride()) Element(args..., i);
}

// Launches grid_stride_kernel<Element> over [0, n) on `stream` and returns the launch status;
// launches nothing for n <= 0.
template <auto Element, typename... Args>
Status launch_grid_stride(int64_t n, cudaStream_t stream, Args... args) {
  if (n <= 0) return Status::kOk;
  grid_stride_kernel<Element><<<grid_blocks_for(n), kBlockThreads, 0, stream>>>(n, args...);
  return launch_status();
}

}  // namespace cellrt
