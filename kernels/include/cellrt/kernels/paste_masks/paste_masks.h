// paste_masks host API. masks (rois, mask_h, mask_w) dense row-major, boxes (rois, 4) as
// (x1, y1, x2, y2) in image pixel coordinates, scores (rois,) float32, labels (image_h, image_w)
// int32 written completely (0 background, i + 1 for instance i). See paste_masks_element.h for
// the exact sampling convention and overlap rule.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/paste_masks/paste_masks_params.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// CPU, T = float or double masks; coordinates and interpolation in double. Rois are visited in
// decreasing priority and the first roi to claim a pixel keeps it, so a pixel already claimed is
// never sampled again. Parallel over bands of image rows (each band owned by one thread, the
// rois touching it in priority order), hence deterministic.
template <typename T>
Status paste_masks_cpu(const PasteMasksParams& p, const T* masks, const double* boxes,
                       const float* scores, int32_t* labels);

// The CUDA algorithm emulated on the CPU, for tests: every (roi, window pixel) step of
// paste_masks_key_element, run in the given order (optionally by several threads at once,
// racing on the atomic key max), then decoded. Must equal paste_masks_cpu for every order.
enum class PasteOrder { kForward = 0, kReversed = 1, kShuffled = 2 };

template <typename T>
Status paste_masks_emulate_device_cpu(const PasteMasksParams& p, const T* masks,
                                      const double* boxes, const float* scores, PasteOrder order,
                                      uint64_t seed, bool parallel, int32_t* labels);

#if defined(CELLRT_WITH_CUDA)
// CUDA, T = float or __half masks; coordinates and interpolation in float. keys is a device
// workspace of image_h * image_w unsigned 64-bit integers (zeroed here, on the stream).
template <typename T>
Status paste_masks_cuda(const PasteMasksParams& p, const T* masks, const float* boxes,
                        const float* scores, unsigned long long* keys, int32_t* labels,
                        cudaStream_t stream);
#endif

}  // namespace cellrt
