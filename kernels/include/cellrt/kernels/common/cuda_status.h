// CUDA errors as cellrt Status values, for the launchers. CUDA only: include from .cu files.
// Launchers return a Status and never throw; the bindings turn kCudaError into an exception.
#pragma once

#include <cuda_runtime_api.h>

#include "cellrt/kernels/common/status.h"

namespace cellrt {

inline Status to_status(cudaError_t e) {
  return e == cudaSuccess ? Status::kOk : Status::kCudaError;
}

// Status of the kernel launches issued so far on this thread (a bad configuration, a missing
// device, an earlier asynchronous fault). Every launcher ends with it.
inline Status launch_status() { return to_status(cudaGetLastError()); }

}  // namespace cellrt
