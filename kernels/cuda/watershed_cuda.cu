// GPU watershed: the per-pixel steps of watershed_element.h as grid-stride kernels, iterated to
// their fixed points by a host loop on the caller's stream. The semantics (and the proof that
// the result does not depend on the order in which threads update pixels) live in
// watershed_element.h; tests run the same steps on the CPU in shuffled and reversed order.
#include <cstdint>

#include <cuda_runtime.h>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/watershed/watershed.h"
#include "cellrt/kernels/watershed/watershed_element.h"

namespace cellrt {
namespace {

constexpr int kThreads = 256;
// Relaxation sweeps between two reads of the "changed" flag: extra sweeps after convergence are
// no-ops, and fewer host round trips pay for them.
constexpr int kSweepsPerCheck = 8;

#define CELLRT_PIXELS(i, n) \
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < (n); i += int64_t{blockDim.x} * gridDim.x)

__global__ void watershed_init_kernel(WatershedParams p, const uint32_t* levels,
                                      const int32_t* markers, const uint8_t* mask,
                                      WatershedState* state) {
  CELLRT_PIXELS(i, p.height * p.width) watershed_init_element(p, levels, markers, mask, state, i);
}

__global__ void watershed_relax_kernel(WatershedParams p, const uint32_t* levels,
                                       const int32_t* markers, const uint8_t* mask,
                                       WatershedState* state, int32_t* changed) {
  CELLRT_PIXELS(i, p.height * p.width) {
    if (watershed_relax_element(p, levels, markers, mask, state, i)) *changed = 1;
  }
}

__global__ void watershed_parent_kernel(WatershedParams p, const int32_t* markers,
                                        const uint8_t* mask, const WatershedState* state,
                                        int64_t* parent) {
  CELLRT_PIXELS(i, p.height * p.width) watershed_parent_element(p, markers, mask, state, parent, i);
}

__global__ void watershed_jump_kernel(WatershedParams p, int64_t* parent, int32_t* changed) {
  CELLRT_PIXELS(i, p.height * p.width) {
    if (watershed_jump_element(parent, i)) *changed = 1;
  }
}

__global__ void watershed_label_kernel(WatershedParams p, const int32_t* markers,
                                       const int64_t* parent, int32_t* out) {
  CELLRT_PIXELS(i, p.height * p.width) watershed_label_element(markers, parent, out, i);
}

#undef CELLRT_PIXELS

Status to_status(cudaError_t e) { return e == cudaSuccess ? Status::kOk : Status::kCudaError; }

// Reads the device flag (and clears it for the next round). Synchronises the stream.
Status read_and_clear(int32_t* changed, int32_t* host, cudaStream_t stream) {
  cudaError_t e = cudaMemcpyAsync(host, changed, sizeof(int32_t), cudaMemcpyDeviceToHost, stream);
  if (e == cudaSuccess) e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) e = cudaMemsetAsync(changed, 0, sizeof(int32_t), stream);
  return to_status(e);
}

}  // namespace

Status watershed_cuda(const WatershedParams& p, const uint32_t* levels, const int32_t* markers,
                      const uint8_t* mask, WatershedState* state, int64_t* parent, int32_t* changed,
                      int32_t* out, cudaStream_t stream) {
  const int64_t n = p.height * p.width;
  if (n <= 0) return Status::kOk;
  if ((p.connectivity != 1 && p.connectivity != 2) || n >= int64_t{0xFFFFFFFF}) {
    return Status::kInvalidArgument;  // plateau step counts are 32-bit
  }
  const int blocks = static_cast<int>(grid_blocks(n, kThreads));
  Status s = to_status(cudaMemsetAsync(changed, 0, sizeof(int32_t), stream));
  if (s != Status::kOk) return s;
  watershed_init_kernel<<<blocks, kThreads, 0, stream>>>(p, levels, markers, mask, state);
  for (int32_t more = 1; more != 0;) {
    for (int k = 0; k < kSweepsPerCheck; ++k) {
      watershed_relax_kernel<<<blocks, kThreads, 0, stream>>>(p, levels, markers, mask, state,
                                                              changed);
    }
    if ((s = to_status(cudaGetLastError())) != Status::kOk) return s;
    if ((s = read_and_clear(changed, &more, stream)) != Status::kOk) return s;
  }
  watershed_parent_kernel<<<blocks, kThreads, 0, stream>>>(p, markers, mask, state, parent);
  for (int32_t more = 1; more != 0;) {
    watershed_jump_kernel<<<blocks, kThreads, 0, stream>>>(p, parent, changed);
    if ((s = to_status(cudaGetLastError())) != Status::kOk) return s;
    if ((s = read_and_clear(changed, &more, stream)) != Status::kOk) return s;
  }
  watershed_label_kernel<<<blocks, kThreads, 0, stream>>>(p, markers, parent, out);
  return to_status(cudaGetLastError());
}

}  // namespace cellrt
