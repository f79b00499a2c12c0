// label family, CUDA launchers: grid-stride loops around the element functions of
// label_element.h, one kernel per step (a kernel boundary is the only grid-wide barrier the
// union-find needs: every merge must finish before compress reads final roots).
#include <cub/device/device_scan.cuh>

#include "cellrt/kernels/common/cuda_grid.h"
#include "cellrt/kernels/common/cuda_status.h"
#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/label/label.h"
#include "cellrt/kernels/label/label_element.h"

namespace cellrt {
namespace {

bool valid_image(const LabelParams& p) {
  return p.height >= 0 && p.width >= 0 && fits_int32(p.height * p.width) &&
         (p.connectivity == 1 || p.connectivity == 2);
}

}  // namespace

Status label_cuda_workspace_bytes(int64_t n, size_t* bytes) {
  if (n < 0 || !fits_int32(n)) return Status::kInvalidArgument;
  *bytes = 0;
  if (n == 0) return Status::kOk;
  return to_status(cub::DeviceScan::InclusiveSum(nullptr, *bytes,
                                                 static_cast<const int32_t*>(nullptr),
                                                 static_cast<int32_t*>(nullptr),
                                                 static_cast<int>(n)));
}

Status label_cuda(const uint8_t* fg, const LabelParams& p, int32_t* parent, int32_t* rank,
                  void* temp, size_t temp_bytes, int32_t* out, cudaStream_t stream) {
  if (!valid_image(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  if (n == 0) return Status::kOk;
  Status s = launch_grid_stride<label_init_element>(n, stream, fg, parent);
  if (s == Status::kOk) s = launch_grid_stride<label_merge_element>(n, stream, p, fg, parent);
  if (s == Status::kOk) s = launch_grid_stride<label_compress_element>(n, stream, parent);
  // out holds the root flags until the write step.
  if (s == Status::kOk) s = launch_grid_stride<label_root_flag_element>(n, stream, parent, out);
  if (s == Status::kOk) {
    s = to_status(
        cub::DeviceScan::InclusiveSum(temp, temp_bytes, out, rank, static_cast<int>(n), stream));
  }
  if (s == Status::kOk) s = launch_grid_stride<label_write_element>(n, stream, parent, rank, out);
  return s;
}

Status label_histogram_cuda(const int32_t* labels, int64_t n, int32_t* counts,
                            cudaStream_t stream) {
  return launch_grid_stride<label_histogram_element<int32_t, int32_t>>(n, stream, labels, counts);
}

Status label_lookup_cuda(const int32_t* labels, int64_t n, const int32_t* lut, int32_t* out,
                         cudaStream_t stream) {
  return launch_grid_stride<label_lookup_element<int32_t, int32_t>>(n, stream, labels, lut, out);
}

Status relabel_lut_cuda(const int32_t* counts, const int64_t* present_rank, int64_t bins,
                        int32_t* lut, cudaStream_t stream) {
  if (bins < 1) return Status::kInvalidArgument;
  return launch_grid_stride<relabel_lut_element<int32_t, int32_t>>(bins, stream, counts,
                                                                    present_rank, lut);
}

Status remove_small_lut_cuda(const int32_t* counts, int64_t bins, int64_t min_size, int32_t* lut,
                             cudaStream_t stream) {
  if (bins < 1 || min_size < 0) return Status::kInvalidArgument;
  return launch_grid_stride<remove_small_lut_element<int32_t, int32_t>>(bins, stream, counts,
                                                                         min_size, lut);
}

Status fill_holes_cuda(const int32_t* labels, const LabelParams& p, const int32_t* comp,
                       int32_t* owner, int32_t* out, cudaStream_t stream) {
  if (!valid_image(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  const Status s =
      launch_grid_stride<fill_holes_owner_element<int32_t>>(n, stream, p, labels, comp, owner);
  if (s != Status::kOk) return s;
  return launch_grid_stride<fill_holes_write_element<int32_t>>(n, stream, labels, comp, owner,
                                                               out);
}

}  // namespace cellrt
