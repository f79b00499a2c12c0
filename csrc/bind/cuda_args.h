// The _cuda bindings take device memory as integer addresses (tensor.data_ptr()) plus the caller's
// stream (torch.cuda.current_stream().cuda_stream): the Python wrapper owns and keeps alive every
// buffer, and the kernels run on the stream the caller's framework is using.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "checks.h"

namespace cellrt::bind {

template <typename T>
T* dev_ptr(std::uintptr_t addr) {
  return reinterpret_cast<T*>(addr);
}

inline cudaStream_t as_stream(std::uintptr_t s) { return reinterpret_cast<cudaStream_t>(s); }

inline void throw_if_cuda_error(const char* op, cudaError_t e) {
  if (e != cudaSuccess) {
    throw std::runtime_error(concat(op, ": CUDA error: ", cudaGetErrorString(e)));
  }
}

}  // namespace cellrt::bind
