// boundary_votes: every masked pixel of a boundary-regression map votes for the centre of its
// nucleus. The pixel's distances to the boundary going left, right, up and down (l, r, u, d, in
// pixels, RepSNet's convention: a boundary pixel has distance 1) put its horizontal run at columns
// x - l + 1 .. x + r - 1 and its vertical run at rows y - u + 1 .. y + d - 1, whose midpoints are
//     cx = x + (r - l) / 2,   cy = y + (d - u) / 2.
// Every pixel of a convex nucleus votes into a small cluster around its centre whatever its own
// position, so two touching nuclei give two vote peaks where a per-pixel score (centerness) may
// give one blob: the peaks are the watershed markers.
//
// Rounding: to the nearest pixel, halves upwards (floor(v + 0.5)); targets are clamped into the
// image (a huge or infinite distance votes at the border). A pixel with a NaN distance casts no
// vote: the test is written so that NaN fails it. Positions are computed in double, exact for
// any int64 coordinate a float32 distance can be added to.
#pragma once

#include <cmath>
#include <cstdint>

#include "cellrt/kernels/boundary_votes/boundary_votes_params.h"
#include "cellrt/kernels/common/atomic.h"
#include "cellrt/kernels/common/hd.h"

namespace cellrt {

// Nearest pixel of a continuous coordinate, clamped to [0, extent - 1]; -1 for NaN.
CELLRT_HD int64_t boundary_vote_coordinate(double v, int64_t extent) {
  const double r = floor(v + 0.5);
  if (!(r == r)) return -1;  // NaN
  if (r < 0.0) return 0;
  if (r > static_cast<double>(extent - 1)) return extent - 1;
  return static_cast<int64_t>(r);
}

// Raster index of the pixel that pixel (y, x) votes for, or -1 when it casts no vote (outside the
// mask, NaN midpoint). dist is (4, H, W): left, right, up, down planes.
CELLRT_HD int64_t boundary_vote_target_yx(const BoundaryVotesParams& p, const float* dist,
                                          const uint8_t* mask, int64_t y, int64_t x) {
  const int64_t idx = y * p.width + x;
  if (mask != nullptr && mask[idx] == 0) return -1;
  const int64_t n = p.height * p.width;
  const double l = dist[idx], r = dist[n + idx], u = dist[2 * n + idx], d = dist[3 * n + idx];
  const int64_t cx = boundary_vote_coordinate(static_cast<double>(x) + 0.5 * (r - l), p.width);
  const int64_t cy = boundary_vote_coordinate(static_cast<double>(y) + 0.5 * (d - u), p.height);
  if (cx < 0 || cy < 0) return -1;
  return cy * p.width + cx;
}

// The same for raster index idx (the GPU's one-thread-per-pixel form).
CELLRT_HD int64_t boundary_vote_target(const BoundaryVotesParams& p, const float* dist,
                                       const uint8_t* mask, int64_t idx) {
  const int64_t y = idx / p.width;
  return boundary_vote_target_yx(p, dist, mask, y, idx - y * p.width);
}

// One pixel's vote, added atomically (the GPU kernel body; the CPU emulation runs it in any
// order). votes is int32 (H, W), zeroed before the first vote.
CELLRT_HD void boundary_votes_element(const BoundaryVotesParams& p, const float* dist,
                                      const uint8_t* mask, int32_t* votes, int64_t idx) {
  const int64_t t = boundary_vote_target(p, dist, mask, idx);
  if (t >= 0) atomic_add(votes + t, int32_t{1});
}

}  // namespace cellrt
