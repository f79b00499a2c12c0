// label family, CUDA launchers: grid-stride loops around the element functions of
// label_element.h, one kernel per step (a kernel boundary is the only grid-wide barrier the
// union-find needs: every merge must finish before compress reads final roots).
#include <cub/device/device_scan.cuh>

#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/label/label.h"
#include "cellrt/kernels/label/label_element.h"

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

__global__ void label_init_kernel(const uint8_t* fg, int32_t* parent, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) label_init_element(fg, parent, i);
}

__global__ void label_merge_kernel(LabelParams p, const uint8_t* fg, int32_t* parent,
                                   int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    label_merge_element(p, fg, parent, i);
  }
}

__global__ void label_compress_kernel(int32_t* parent, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) label_compress_element(parent, i);
}

__global__ void label_root_flag_kernel(const int32_t* parent, int32_t* flag, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    label_root_flag_element(parent, flag, i);
  }
}

__global__ void label_write_kernel(const int32_t* parent, const int32_t* rank, int32_t* out,
                                   int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    label_write_element(parent, rank, out, i);
  }
}

__global__ void label_histogram_kernel(const int32_t* labels, int32_t* counts, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    label_histogram_element(labels, counts, i);
  }
}

__global__ void label_lookup_kernel(const int32_t* labels, const int32_t* lut, int32_t* out,
                                    int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    label_lookup_element(labels, lut, out, i);
  }
}

__global__ void relabel_lut_kernel(const int32_t* counts, const int64_t* rank, int32_t* lut,
                                   int64_t bins) {
  for (int64_t v = first_index(); v < bins; v += grid_stride()) {
    relabel_lut_element(counts, rank, lut, v);
  }
}

__global__ void remove_small_lut_kernel(const int32_t* counts, int64_t min_size, int32_t* lut,
                                        int64_t bins) {
  for (int64_t v = first_index(); v < bins; v += grid_stride()) {
    remove_small_lut_element(counts, min_size, lut, v);
  }
}

__global__ void fill_holes_owner_kernel(LabelParams p, const int32_t* labels, const int32_t* comp,
                                        int32_t* owner, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    fill_holes_owner_element(p, labels, comp, owner, i);
  }
}

__global__ void fill_holes_write_kernel(const int32_t* labels, const int32_t* comp,
                                        const int32_t* owner, int32_t* out, int64_t n) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    fill_holes_write_element(labels, comp, owner, out, i);
  }
}

bool valid_image(const LabelParams& p) {
  return p.height > 0 && p.width > 0 && fits_int32(p.height * p.width) &&
         (p.connectivity == 1 || p.connectivity == 2);
}

}  // namespace

Status label_cuda_workspace_bytes(int64_t n, size_t* bytes) {
  if (n < 1 || !fits_int32(n)) return Status::kInvalidArgument;
  *bytes = 0;
  return to_status(cub::DeviceScan::InclusiveSum(nullptr, *bytes,
                                                 static_cast<const int32_t*>(nullptr),
                                                 static_cast<int32_t*>(nullptr),
                                                 static_cast<int>(n)));
}

Status label_cuda(const uint8_t* fg, const LabelParams& p, int32_t* parent, int32_t* rank,
                  void* temp, size_t temp_bytes, int32_t* out, cudaStream_t stream) {
  if (!valid_image(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  const unsigned b = blocks_for(n);
  label_init_kernel<<<b, kThreads, 0, stream>>>(fg, parent, n);
  label_merge_kernel<<<b, kThreads, 0, stream>>>(p, fg, parent, n);
  label_compress_kernel<<<b, kThreads, 0, stream>>>(parent, n);
  label_root_flag_kernel<<<b, kThreads, 0, stream>>>(parent, out, n);  // out holds the flags
  const cudaError_t e =
      cub::DeviceScan::InclusiveSum(temp, temp_bytes, out, rank, static_cast<int>(n), stream);
  if (e != cudaSuccess) return to_status(e);
  label_write_kernel<<<b, kThreads, 0, stream>>>(parent, rank, out, n);
  return to_status(cudaGetLastError());
}

Status label_histogram_cuda(const int32_t* labels, int64_t n, int32_t* counts,
                            cudaStream_t stream) {
  if (n < 1) return Status::kOk;
  label_histogram_kernel<<<blocks_for(n), kThreads, 0, stream>>>(labels, counts, n);
  return to_status(cudaGetLastError());
}

Status label_lookup_cuda(const int32_t* labels, int64_t n, const int32_t* lut, int32_t* out,
                         cudaStream_t stream) {
  if (n < 1) return Status::kOk;
  label_lookup_kernel<<<blocks_for(n), kThreads, 0, stream>>>(labels, lut, out, n);
  return to_status(cudaGetLastError());
}

Status relabel_lut_cuda(const int32_t* counts, const int64_t* present_rank, int64_t bins,
                        int32_t* lut, cudaStream_t stream) {
  if (bins < 1) return Status::kInvalidArgument;
  relabel_lut_kernel<<<blocks_for(bins), kThreads, 0, stream>>>(counts, present_rank, lut, bins);
  return to_status(cudaGetLastError());
}

Status remove_small_lut_cuda(const int32_t* counts, int64_t bins, int64_t min_size, int32_t* lut,
                             cudaStream_t stream) {
  if (bins < 1 || min_size < 0) return Status::kInvalidArgument;
  remove_small_lut_kernel<<<blocks_for(bins), kThreads, 0, stream>>>(counts, min_size, lut, bins);
  return to_status(cudaGetLastError());
}

Status fill_holes_cuda(const int32_t* labels, const LabelParams& p, const int32_t* comp,
                       int32_t* owner, int32_t* out, cudaStream_t stream) {
  if (!valid_image(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  fill_holes_owner_kernel<<<blocks_for(n), kThreads, 0, stream>>>(p, labels, comp, owner, n);
  fill_holes_write_kernel<<<blocks_for(n), kThreads, 0, stream>>>(labels, comp, owner, out, n);
  return to_status(cudaGetLastError());
}

}  // namespace cellrt
