// Sizes of one boundary_votes call: distances (4, height, width), mask and votes (height, width).
// Passed by value to CUDA kernels.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

struct BoundaryVotesParams {
  int64_t height = 0;
  int64_t width = 0;
};

static_assert(std::is_trivially_copyable_v<BoundaryVotesParams>,
              "BoundaryVotesParams is passed to CUDA kernels by value");

}  // namespace cellrt
