// boundary_votes CUDA launcher: zero the votes, then a grid-stride loop of the atomic element.
#include <cuda_runtime.h>

#include "cellrt/kernels/boundary_votes/boundary_votes.h"
#include "cellrt/kernels/boundary_votes/boundary_votes_element.h"
#include "cellrt/kernels/common/cuda_grid.h"

namespace cellrt {

Status boundary_votes_cuda(const BoundaryVotesParams& p, const float* dist, const uint8_t* mask,
                           int32_t* votes, cudaStream_t stream) {
  if (p.height < 0 || p.width < 0 || p.height * p.width >= (int64_t{1} << 31)) {
    return Status::kInvalidArgument;
  }
  const int64_t n = p.height * p.width;
  if (n == 0) return Status::kOk;
  const Status s =
      to_status(cudaMemsetAsync(votes, 0, static_cast<size_t>(n) * sizeof(int32_t), stream));
  if (s != Status::kOk) return s;
  return launch_grid_stride<boundary_votes_element>(n, stream, p, dist, mask, votes);
}

}  // namespace cellrt
