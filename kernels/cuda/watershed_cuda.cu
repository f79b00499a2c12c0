// GPU watershed: the per-pixel steps of watershed_element.h as grid-stride kernels, iterated to
// their fixed points by a host loop on the caller's stream. The semantics (and the proof that
// the result does not depend on the order in which threads update pixels) live in
// watershed_element.h; tests run the same steps on the CPU in shuffled and reversed order.
#include <cstdint>

#include <cuda_runtime.h>

#include "cellrt/kernels/common/cuda_grid.h"
#include "cellrt/kernels/watershed/watershed.h"
#include "cellrt/kernels/watershed/watershed_element.h"

namespace cellrt {
namespace {

// Relaxation sweeps between two reads of the "changed" flag: extra sweeps after convergence are
// no-ops, and fewer host round trips pay for them.
constexpr int kSweepsPerCheck = 8;

// The two iterated steps also raise the "changed" flag, so they are kernels of their own.
__global__ void watershed_relax_kernel(WatershedParams p, const uint32_t* levels,
                                       const int32_t* markers, const uint8_t* mask,
                                       WatershedState* state, int32_t* changed) {
  for (int64_t i = grid_index(); i < p.height * p.width; i += grid_stride()) {
    if (watershed_relax_element(p, levels, markers, mask, state, i)) *changed = 1;
  }
}

__global__ void watershed_jump_kernel(WatershedParams p, int64_t* parent, int32_t* changed) {
  for (int64_t i = grid_index(); i < p.height * p.width; i += grid_stride()) {
    if (watershed_jump_element(parent, i)) *changed = 1;
  }
}

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
  const unsigned blocks = grid_blocks_for(n);
  Status s = to_status(cudaMemsetAsync(changed, 0, sizeof(int32_t), stream));
  if (s != Status::kOk) return s;
  s = launch_grid_stride<watershed_init_element>(n, stream, p, levels, markers, mask, state);
  if (s != Status::kOk) return s;
  for (int32_t more = 1; more != 0;) {
    for (int k = 0; k < kSweepsPerCheck; ++k) {
      watershed_relax_kernel<<<blocks, kBlockThreads, 0, stream>>>(p, levels, markers, mask,
                                                                   state, changed);
    }
    if ((s = launch_status()) != Status::kOk) return s;
    if ((s = read_and_clear(changed, &more, stream)) != Status::kOk) return s;
  }
  s = launch_grid_stride<watershed_parent_element>(n, stream, p, markers, mask, state, parent);
  if (s != Status::kOk) return s;
  for (int32_t more = 1; more != 0;) {
    watershed_jump_kernel<<<blocks, kBlockThreads, 0, stream>>>(p, parent, changed);
    if ((s = launch_status()) != Status::kOk) return s;
    if ((s = read_and_clear(changed, &more, stream)) != Status::kOk) return s;
  }
  return launch_grid_stride<watershed_label_element>(n, stream, markers, parent, out);
}

}  // namespace cellrt
