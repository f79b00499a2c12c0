// Host API of the marker-controlled watershed.
//
// Image layout: 2-D, row-major, height x width (index = row * width + col). markers: int32 labels,
// 0 = unlabelled. mask: uint8 (nonzero = inside) or null for "everything inside". out: int32
// labels; 0 outside the mask and where no marker reaches.
#pragma once

#include <cstdint>

#include "cellrt/kernels/common/status.h"
#include "cellrt/kernels/watershed/watershed_element.h"
#include "cellrt/kernels/watershed/watershed_params.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// Sequential priority flood with scikit-image's order (see watershed_cpu.cpp). T is one of
// uint8_t, uint16_t, float, double. Returns kInvalidArgument if an in-mask pixel is NaN (out is
// then unspecified); the caller validated shapes and connectivity.
template <typename T>
Status watershed_cpu(const WatershedParams& p, const T* image, const int32_t* markers,
                     const uint8_t* mask, int32_t* out);

// CPU emulation of the GPU algorithm (watershed_element.h): runs the init, relax, parent, jump and
// label steps over all pixels in the visiting order `order` (a permutation of 0..n-1) until each
// step reaches its fixed point. levels: uint32 ranks of the image values. state (n WatershedState) and
// parent (n int64) are workspace, left holding the final states and roots for inspection.
Status watershed_emulate_cpu(const WatershedParams& p, const uint32_t* levels,
                             const int32_t* markers, const uint8_t* mask, const int64_t* order,
                             WatershedState* state, int64_t* parent, int32_t* out);

#if defined(CELLRT_WITH_CUDA)
// GPU watershed: the same steps as CUDA kernels, iterated on `stream` until convergence (the host
// reads a device flag after each sweep). All pointers are device memory; state (n WatershedState), parent
// (n int64) and changed (one int32) are caller-allocated workspace. Needs n < 2^32 - 1.
Status watershed_cuda(const WatershedParams& p, const uint32_t* levels, const int32_t* markers,
                      const uint8_t* mask, WatershedState* state, int64_t* parent, int32_t* changed,
                      int32_t* out, cudaStream_t stream);
#endif

}  // namespace cellrt
