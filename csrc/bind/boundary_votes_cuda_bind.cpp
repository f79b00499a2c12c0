// cellrt._cuda binding of boundary_votes: device addresses (tensor.data_ptr()) of the float32
// (4, H, W) distances, the uint8 mask (0 for none) and the int32 votes, plus the caller's stream.
#include <cstdint>

#include "cuda_args.h"
#include "cellrt/kernels/boundary_votes/boundary_votes.h"

namespace cellrt::bind {

void register_boundary_votes_cuda(py::module_& m) {
  m.def(
      "boundary_votes",
      [](std::uintptr_t dist, std::uintptr_t mask, int64_t h, int64_t w, std::uintptr_t votes,
         std::uintptr_t stream) {
        CELLRT_CHECK(h >= 0 && w >= 0 && h * w < (int64_t{1} << 31),
                     "boundary_votes: image sizes must be >= 0 with H*W < 2^31, got ", h, "x", w);
        if (h * w == 0) return;
        py::gil_scoped_release release;
        throw_if_error("boundary_votes",
                       boundary_votes_cuda(BoundaryVotesParams{h, w}, dev_ptr<const float>(dist),
                                           dev_ptr<const uint8_t>(mask), dev_ptr<int32_t>(votes),
                                           as_stream(stream)));
      },
      py::arg("dist"), py::arg("mask"), py::arg("height"), py::arg("width"), py::arg("votes"),
      py::arg("stream"), "Centre votes (int32, zeroed here) from float32 (4, H, W) distances.");
}

}  // namespace cellrt::bind
