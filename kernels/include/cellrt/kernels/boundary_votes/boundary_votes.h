// boundary_votes host API. dist (4, H, W) float32 dense row-major (left, right, up, down
// distances to the nucleus boundary, pixels), mask (H, W) uint8 or null (every pixel votes),
// votes (H, W) int32 written completely. H * W must be below 2^31 (vote counts are int32).
// See boundary_votes_element.h for the centre and rounding convention.
#pragma once

#include <cstdint>

#include "cellrt/kernels/boundary_votes/boundary_votes_params.h"
#include "cellrt/kernels/common/status.h"

#if defined(CELLRT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cellrt {

// CPU: one sequential pass (integer counts, so the result does not depend on the order).
Status boundary_votes_cpu(const BoundaryVotesParams& p, const float* dist, const uint8_t* mask,
                          int32_t* votes);

// The GPU's atomic element run on the CPU over pixels in `order` (a permutation of 0..H*W-1),
// for the tests that check any order gives boundary_votes_cpu's counts.
Status boundary_votes_emulate_device_cpu(const BoundaryVotesParams& p, const float* dist,
                                         const uint8_t* mask, const int64_t* order,
                                         int32_t* votes);

#if defined(CELLRT_WITH_CUDA)
// CUDA: votes zeroed on the stream, then one atomic vote per masked pixel.
Status boundary_votes_cuda(const BoundaryVotesParams& p, const float* dist, const uint8_t* mask,
                           int32_t* votes, cudaStream_t stream);
#endif

}  // namespace cellrt
