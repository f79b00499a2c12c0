// regionprops, CUDA launchers: grid-stride loops around regionprops_element.h. Every pixel adds
// itself to its label's accumulators with atomics (count, coordinate sums, bbox minima and maxima,
// per-channel sums in double, class counts); finalize writes one output row per present label.
#include "cellrt/kernels/common/cuda_grid.h"
#include "cellrt/kernels/regionprops/regionprops.h"
#include "cellrt/kernels/regionprops/regionprops_element.h"

namespace cellrt {
namespace {

bool valid(const RegionpropsParams& p) {
  return p.height >= 0 && p.width >= 0 && p.channels >= 0 && p.num_classes >= 0 &&
         p.num_bins >= 1 && p.height < kRegionpropsNoPixel && p.width < kRegionpropsNoPixel;
}

}  // namespace

Status regionprops_init_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                             cudaStream_t stream) {
  if (!valid(p)) return Status::kInvalidArgument;
  return launch_grid_stride<regionprops_init_element>(p.num_bins, stream, p, acc);
}

Status regionprops_accumulate_cuda(const RegionpropsParams& p, const int32_t* labels,
                                   const float* intensity, const int32_t* classes,
                                   const RegionpropsAccum& acc, cudaStream_t stream) {
  if (!valid(p)) return Status::kInvalidArgument;
  return launch_grid_stride<regionprops_accumulate_element<int32_t, float>>(
      p.height * p.width, stream, p, labels, intensity, classes, acc);
}

Status regionprops_finalize_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                                 const int64_t* present, int64_t num_present,
                                 const RegionpropsOutput& out, cudaStream_t stream) {
  if (!valid(p) || num_present < 0) return Status::kInvalidArgument;
  return launch_grid_stride<regionprops_finalize_element>(num_present, stream, p, acc, present,
                                                          out);
}

Status regionprops_shape_cuda(const ShapeParams& p, const int32_t* labels, const ShapeAccum& a,
                              const ShapeOutput& out, cudaStream_t stream) {
  if (p.height < 0 || p.width < 0 || p.num_rows < 0) return Status::kInvalidArgument;
  if (p.num_rows == 0) return Status::kOk;
  Status s = launch_grid_stride<shape_init_element>(p.num_rows, stream, p, a);
  if (s != Status::kOk) return s;
  if (p.height * p.width > 0) {
    s = launch_grid_stride<shape_accumulate_element<int32_t>>(p.height * p.width, stream, p,
                                                               labels, a);
    if (s != Status::kOk) return s;
  }
  return launch_grid_stride<shape_finalize_element>(p.num_rows, stream, p, a, out);
}

}  // namespace cellrt
