// regionprops, CUDA launchers: grid-stride loops around regionprops_element.h. Every pixel adds
// itself to its label's accumulators with atomics (count, coordinate sums, four bbox minima,
// per-channel sums in double, class counts); finalize writes one output row per present label.
#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/regionprops/regionprops.h"
#include "cellrt/kernels/regionprops/regionprops_element.h"

namespace cellrt {
namespace {

constexpr int64_t kThreads = 256;

inline unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(grid_blocks(n, kThreads));
}

inline Status to_status(cudaError_t e) {
  return e == cudaSuccess ? Status::kOk : Status::kCudaError;
}

__device__ inline int64_t first_index() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(blockDim.x) * gridDim.x; }

__global__ void regionprops_init_kernel(RegionpropsParams p, RegionpropsAccum a) {
  for (int64_t l = first_index(); l < p.num_bins; l += grid_stride()) {
    regionprops_init_element(p, a, l);
  }
}

__global__ void regionprops_accumulate_kernel(RegionpropsParams p, const int32_t* labels,
                                              const float* intensity, const int32_t* classes,
                                              RegionpropsAccum a, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    regionprops_accumulate_element(p, labels, intensity, classes, a, i);
  }
}

__global__ void regionprops_finalize_kernel(RegionpropsParams p, RegionpropsAccum a,
                                            const int64_t* present, int64_t num_present,
                                            RegionpropsOutput o) {
  for (int64_t j = first_index(); j < num_present; j += grid_stride()) {
    regionprops_finalize_element(p, a, present, o, j);
  }
}

bool valid(const RegionpropsParams& p) {
  return p.height >= 0 && p.width >= 0 && p.channels >= 0 && p.num_classes >= 0 &&
         p.num_bins >= 1 && p.height < kRegionpropsNoPixel && p.width < kRegionpropsNoPixel;
}

}  // namespace

Status regionprops_init_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                             cudaStream_t stream) {
  if (!valid(p)) return Status::kInvalidArgument;
  regionprops_init_kernel<<<blocks_for(p.num_bins), kThreads, 0, stream>>>(p, acc);
  return to_status(cudaGetLastError());
}

Status regionprops_accumulate_cuda(const RegionpropsParams& p, const int32_t* labels,
                                   const float* intensity, const int32_t* classes,
                                   const RegionpropsAccum& acc, cudaStream_t stream) {
  if (!valid(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  if (n == 0) return Status::kOk;
  regionprops_accumulate_kernel<<<blocks_for(n), kThreads, 0, stream>>>(p, labels, intensity,
                                                                         classes, acc, n);
  return to_status(cudaGetLastError());
}

Status regionprops_finalize_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                                 const int64_t* present, int64_t num_present,
                                 const RegionpropsOutput& out, cudaStream_t stream) {
  if (!valid(p) || num_present < 0) return Status::kInvalidArgument;
  if (num_present == 0) return Status::kOk;
  regionprops_finalize_kernel<<<blocks_for(num_present), kThreads, 0, stream>>>(
      p, acc, present, num_present, out);
  return to_status(cudaGetLastError());
}

}  // namespace cellrt
