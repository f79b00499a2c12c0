// Host API of regionprops: per-label area, bounding box, centroid, mean intensity per channel and
// majority class of a 2-D label image. Functions return a Status and never throw; callers
// validate that labels lie in [0, num_bins) and classes in [0, num_classes).
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/regionprops/regionprops_params.h"
#include "cellrt/kernels/regionprops/regionprops_shape.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// Initialises acc and accumulates every pixel: one pass over rows, one update per run of equal
// labels (pixel loops only for intensities and classes), OpenMP over row strips with private
// tables merged at the end when the tables are small next to the image.
// L: int32_t or int64_t. T: uint8_t, uint16_t, float or double (intensity may be null if C = 0).
template <typename L, typename T>
Status regionprops_accumulate_cpu(const RegionpropsParams& p, const L* labels, const T* intensity,
                                  const int32_t* classes, const RegionpropsAccum& acc);

// The GPU's per-pixel atomic element function run over pixels in the given order (tests).
template <typename L, typename T>
Status regionprops_accumulate_emulate_cpu(const RegionpropsParams& p, const L* labels,
                                          const T* intensity, const int32_t* classes,
                                          const int64_t* order, const RegionpropsAccum& acc);

// Labels with a nonzero count, increasing; present needs room for num_bins entries.
Status regionprops_present_cpu(const RegionpropsParams& p, const RegionpropsAccum& acc,
                               int64_t* present, int64_t* num_present);

Status regionprops_finalize_cpu(const RegionpropsParams& p, const RegionpropsAccum& acc,
                                const int64_t* present, int64_t num_present,
                                const RegionpropsOutput& out);

// Shape descriptors (regionprops_shape.h) of the present labels: initialises a, walks the image
// run by run (one thread), finalizes every row (OpenMP). a.lut/bbox/area/row_offset are inputs.
template <typename L>
Status regionprops_shape_cpu(const ShapeParams& p, const L* labels, const ShapeAccum& a,
                             const ShapeOutput& out);

// The same with the GPU's atomic per-pixel element run over pixels in the given order (tests).
template <typename L>
Status regionprops_shape_emulate_cpu(const ShapeParams& p, const L* labels, const int64_t* order,
                                     const ShapeAccum& a, const ShapeOutput& out);

#if defined(CELLRT_WITH_CUDA)
// labels int32; every pointer in a and out on the device.
Status regionprops_shape_cuda(const ShapeParams& p, const int32_t* labels, const ShapeAccum& a,
                              const ShapeOutput& out, cudaStream_t stream);

Status regionprops_init_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                             cudaStream_t stream);
// labels int32, intensity float (C channels, may be null if C = 0), classes int32 or null.
Status regionprops_accumulate_cuda(const RegionpropsParams& p, const int32_t* labels,
                                   const float* intensity, const int32_t* classes,
                                   const RegionpropsAccum& acc, cudaStream_t stream);
Status regionprops_finalize_cuda(const RegionpropsParams& p, const RegionpropsAccum& acc,
                                 const int64_t* present, int64_t num_present,
                                 const RegionpropsOutput& out, cudaStream_t stream);
#endif

}  // namespace cellrt
