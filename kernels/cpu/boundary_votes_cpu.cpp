// boundary_votes CPU driver: the element's vote target for every pixel, counted in one sequential
// raster pass (rows and columns, so no division per pixel as in the GPU's index form). Sequential
// on purpose: a parallel scatter would need an atomic on every vote, and the pass is one mask byte
// per pixel plus four floats per voter.
#include <algorithm>

#include "cellrt/kernels/boundary_votes/boundary_votes.h"
#include "cellrt/kernels/boundary_votes/boundary_votes_element.h"

namespace cellrt {

namespace {

bool valid(const BoundaryVotesParams& p) {
  return p.height >= 0 && p.width >= 0 && p.height * p.width < (int64_t{1} << 31);
}

}  // namespace

Status boundary_votes_cpu(const BoundaryVotesParams& p, const float* dist, const uint8_t* mask,
                          int32_t* votes) {
  if (!valid(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  std::fill(votes, votes + n, 0);
  for (int64_t y = 0; y < p.height; ++y) {
    for (int64_t x = 0; x < p.width; ++x) {
      const int64_t t = boundary_vote_target_yx(p, dist, mask, y, x);
      if (t >= 0) ++votes[t];
    }
  }
  return Status::kOk;
}

Status boundary_votes_emulate_device_cpu(const BoundaryVotesParams& p, const float* dist,
                                         const uint8_t* mask, const int64_t* order,
                                         int32_t* votes) {
  if (!valid(p)) return Status::kInvalidArgument;
  const int64_t n = p.height * p.width;
  std::fill(votes, votes + n, 0);
  for (int64_t k = 0; k < n; ++k) boundary_votes_element(p, dist, mask, votes, order[k]);
  return Status::kOk;
}

}  // namespace cellrt
