// Host API of the label family. Images are 2-D, row-major and C-contiguous; label images hold
// non-negative integers (0 = background), instance values 1..max. Every function returns a
// Status and never throws; callers (the bindings) validate shapes and value ranges first.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/label/label_params.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// Connected components of the nonzero bytes of fg (height x width). out receives int32 labels
// 1..N numbered in raster order of each component's first pixel (0 = background), and
// *num_labels = N. Run-based two-scan union-find, OpenMP over row strips. Needs
// width < 2^31 and height * ceil(width / 2) < 2^31 (the number of runs), else kInvalidArgument.
Status label_cpu(const uint8_t* fg, const LabelParams& p, int32_t* out, int64_t* num_labels);

// CPU emulation of the GPU algorithm (label_element.h steps 1-5), each step run over the pixels in
// the order given by order[0 .. height*width) (a permutation), on num_threads OpenMP threads.
// parent and rank are height*width workspaces. Result equals label_cpu's exactly.
Status label_emulate_device_cpu(const uint8_t* fg, const LabelParams& p, const int64_t* order,
                                int32_t num_threads, int32_t* parent, int32_t* rank, int32_t* out);

// Smallest and largest value of labels[0..n) (n >= 1).
template <typename L>
Status label_minmax_cpu(const L* labels, int64_t n, L* min_value, L* max_value);

// counts[v] = number of pixels with labels[i] == v for v in 1..bins-1; counts[0] = 0.
// Needs 0 <= labels[i] < bins.
template <typename L>
Status label_histogram_cpu(const L* labels, int64_t n, int64_t bins, int64_t* counts);

// The GPU histogram (atomic element function) run over pixels in the given order on the CPU.
template <typename L>
Status label_histogram_emulate_cpu(const L* labels, int64_t n, const int64_t* order, int64_t bins,
                                   int64_t* counts);

// out[i] = lut[labels[i]] (out may alias labels when I == V). Instantiated for (I, V) =
// (int32, int32), (int64, int64) and (int32, int64).
template <typename I, typename V>
Status label_lookup_cpu(const I* labels, int64_t n, const V* lut, V* out);

// Renumbers the present positive values of labels (all in [0, bins)) to 1..N in increasing order
// of value; 0 stays 0. *num_labels = N.
template <typename L>
Status relabel_sequential_cpu(const L* labels, int64_t n, int64_t bins, L* out,
                              int64_t* num_labels);

// Sets to 0 every instance (pixels sharing one positive value, all in [0, bins)) whose pixel
// count is below min_size; survivors keep their value (no renumbering).
template <typename L>
Status remove_small_objects_cpu(const L* labels, int64_t n, int64_t bins, int64_t min_size,
                                L* out);

// Maps arbitrary non-negative values to dense ids: values[0] = 0, values[1..N] = the distinct
// positive values in increasing order, ids[i] = index of labels[i] in values. values needs room
// for n + 1 entries. For label images whose values are too sparse for tables indexed by value.
template <typename L>
Status label_compact_cpu(const L* labels, int64_t n, L* values, int64_t* num_values,
                         int32_t* ids);

// Fills holes of a label image (rule in label_element.h). The background is labelled run by
// run (4-connectivity) and each background run's neighbours vote for its component's owner.
template <typename L>
Status fill_holes_cpu(const L* labels, const LabelParams& p, L* out);

// The GPU's fill_holes: background components of the (labels == 0) mask, then the per-pixel owner
// element over pixels in the given order (emulating GPU scheduling), then the write element.
template <typename L>
Status fill_holes_emulate_cpu(const L* labels, const LabelParams& p, const int64_t* order,
                              L* out);

#if defined(CELLRT_WITH_CUDA)
// Bytes of scan workspace label_cuda needs for n pixels.
Status label_cuda_workspace_bytes(int64_t n, size_t* bytes);

// GPU connected components: the five label_element.h steps on stream. fg: height*width bytes;
// parent, rank: height*width int32 workspaces; temp: label_cuda_workspace_bytes bytes;
// out: int32 labels, identical to label_cpu's. Needs height*width < 2^31.
Status label_cuda(const uint8_t* fg, const LabelParams& p, int32_t* parent, int32_t* rank,
                  void* temp, size_t temp_bytes, int32_t* out, cudaStream_t stream);

// counts (zeroed by the caller, one int32 per value 0..max) += per-value pixel counts.
Status label_histogram_cuda(const int32_t* labels, int64_t n, int32_t* counts,
                            cudaStream_t stream);

Status label_lookup_cuda(const int32_t* labels, int64_t n, const int32_t* lut, int32_t* out,
                         cudaStream_t stream);

// Lookup tables over values 0..bins-1 from the histogram: relabel_sequential's (present_rank =
// inclusive prefix count of counts > 0, e.g. torch.cumsum) and remove_small_objects'.
Status relabel_lut_cuda(const int32_t* counts, const int64_t* present_rank, int64_t bins,
                        int32_t* lut, cudaStream_t stream);
Status remove_small_lut_cuda(const int32_t* counts, int64_t bins, int64_t min_size, int32_t* lut,
                             cudaStream_t stream);

// fill_holes on the GPU given comp (label_cuda of labels == 0) and owner (num_components + 1
// entries, filled with kHoleNone by the caller).
Status fill_holes_cuda(const int32_t* labels, const LabelParams& p, const int32_t* comp,
                       int32_t* owner, int32_t* out, cudaStream_t stream);
#endif

}  // namespace cellrt
