// Host API of roi_align and multilevel_roi_align. Pointers are raw, C-contiguous buffers; rois are
// (num_rois, 5) rows (batch_index, x1, y1, x2, y2) in image pixels of the arithmetic type
// roi_align_acc_t<T>, with batch indices already validated to lie in [0, batch). Functions return
// a Status and never throw.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/roi_align/roi_align_params.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// ---- CPU, production path (T = float or double) ------------------------------------------------
// A channels-last gather: the map is transposed to NHWC once (skipped when channels_last), then the
// interpolation weights are computed once and applied to all C channels as contiguous vectors.
// The forward equals the element loop to rounding (it sums the same terms in another order); the
// backward equals a sequential element loop bit for bit.
//
// `workspace` holds the channels-last copies (forward) or gradients (backward) of the maps:
// roi_align_cpu_workspace_size() elements of T, allocated by the caller (the binding allocates it
// with NumPy, whose allocator asks for transparent huge pages: a fresh 32 MiB buffer then costs a
// few page faults instead of 8192). Small per-thread scratch is allocated internally.

// Elements of T needed as workspace: N*C*H*W, or 0 for a forward on a channels-last map.
int64_t roi_align_cpu_workspace_size(const RoiAlignParams& p, bool channels_last);

// Sum over the levels of N*C*H_l*W_l (forward and backward).
int64_t multilevel_roi_align_cpu_workspace_size(const RoiAlignParams& p,
                                                const RoiAlignFpnParams& fpn,
                                                const RoiAlignLevel* levels);

// input: NCHW, or NHWC when channels_last. output: (num_rois, channels, pooled_h, pooled_w).
template <typename T>
Status roi_align_forward_cpu(const RoiAlignParams& p, const T* input, bool channels_last,
                             const T* rois, T* output, T* workspace);

// grad_output: (num_rois, channels, pooled_h, pooled_w). grad_input: NCHW, overwritten. workspace:
// roi_align_cpu_workspace_size(p, false) elements.
// Deterministic: work is split by (batch, channel block), never by RoI, so no atomics are needed
// and each gradient element sums its contributions in RoI order whatever the thread count.
template <typename T>
Status roi_align_backward_cpu(const RoiAlignParams& p, const T* grad_output, const T* rois,
                              T* grad_input, T* workspace);

// FPN level index of each RoI (-1: none), see roi_align_fpn_level.
template <typename T>
Status roi_align_fpn_levels_cpu(const RoiAlignFpnParams& fpn, int64_t num_rois, const T* rois,
                                int64_t* levels);

// features[l]: NCHW maps of size (p.batch, p.channels, levels[l].height, levels[l].width);
// p.height, p.width and p.spatial_scale are ignored (taken per level). Each RoI pools from the map
// of its FPN level; a RoI without a level gives zeros.
template <typename T>
Status multilevel_roi_align_forward_cpu(const RoiAlignParams& p, const RoiAlignFpnParams& fpn,
                                        const RoiAlignLevel* levels, const T* const* features,
                                        const T* rois, T* output, T* workspace);

// grad_features[l]: NCHW, overwritten.
template <typename T>
Status multilevel_roi_align_backward_cpu(const RoiAlignParams& p, const RoiAlignFpnParams& fpn,
                                         const RoiAlignLevel* levels, const T* grad_output,
                                         const T* rois, T* const* grad_features, T* workspace);

// ---- CPU, element loops (the plain path; the reference the fast path is tested against) --------
template <typename T>
Status roi_align_forward_elements_cpu(const RoiAlignParams& p, const T* input, const T* rois,
                                      T* output);

// grad_input (NCHW) is overwritten. order == nullptr: all elements in an OpenMP loop (host
// atomics); otherwise the elements order[0], order[1], ... one after another, which emulates one
// possible device schedule (tests pass shuffled and reversed permutations).
template <typename T>
Status roi_align_backward_elements_cpu(const RoiAlignParams& p, const T* grad_output,
                                       const T* rois, T* grad_input, const int64_t* order,
                                       int64_t order_size);

#if defined(CELLRT_WITH_CUDA)
// ---- CUDA (T = float, __half, double; rois are roi_align_acc_t<T>: float for __half) ----------
// Grid-stride kernels over the element functions, on the caller's stream.
template <typename T, typename R>
Status roi_align_forward_cuda(const RoiAlignParams& p, const T* input, const R* rois, T* output,
                              cudaStream_t stream);

// grad_input must hold zeros (or a gradient to accumulate into); contributions are added atomically.
template <typename T, typename R>
Status roi_align_backward_cuda(const RoiAlignParams& p, const T* grad_output, const R* rois,
                               T* grad_input, cudaStream_t stream);

template <typename R>
Status roi_align_fpn_levels_cuda(const RoiAlignFpnParams& fpn, int64_t num_rois, const R* rois,
                                 int64_t* levels, cudaStream_t stream);
#endif

}  // namespace cellrt
