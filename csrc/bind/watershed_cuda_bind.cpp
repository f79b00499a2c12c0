// cellrt._cuda.watershed: device addresses (torch data_ptr()) in, labels written to `out`. The
// Python wrapper (cellrt/ops/watershed.py) validates shapes and dtypes and owns every buffer.
#include <cstdint>

#include "cuda_args.h"
#include "cellrt/kernels/watershed/watershed.h"

namespace cellrt::bind {

void register_watershed_cuda(py::module_& m) {
  m.def(
      "watershed",
      [](std::uintptr_t levels, std::uintptr_t markers, std::uintptr_t mask, std::uintptr_t state,
         std::uintptr_t parent, std::uintptr_t changed, std::uintptr_t out, int64_t height,
         int64_t width, int connectivity, std::uintptr_t stream) {
        CELLRT_CHECK(height >= 0 && width >= 0, "watershed: height and width must be >= 0, got ",
                     height, " x ", width);
        CELLRT_CHECK(connectivity == 1 || connectivity == 2,
                     "watershed: connectivity must be 1 or 2, got ", connectivity);
        const WatershedParams p{height, width, connectivity};
        if (height * width == 0) return;
        Status s;
        {
          py::gil_scoped_release release;
          s = watershed_cuda(p, dev_ptr<const uint32_t>(levels), dev_ptr<const int32_t>(markers),
                             dev_ptr<const uint8_t>(mask), dev_ptr<WatershedState>(state),
                             dev_ptr<int64_t>(parent), dev_ptr<int32_t>(changed),
                             dev_ptr<int32_t>(out), as_stream(stream));
        }
        throw_if_error("watershed", s);
      },
      py::arg("levels"), py::arg("markers"), py::arg("mask"), py::arg("state"), py::arg("parent"),
      py::arg("changed"), py::arg("out"), py::arg("height"), py::arg("width"),
      py::arg("connectivity"), py::arg("stream"),
      "Marker-controlled watershed on the GPU (relaxation + pointer jumping). levels: int32/uint32 "
      "ranks of the image values; mask: uint8 or 0 for none; state int64, parent int64, changed "
      "int32[1] are workspace; out int32. See cellrt.ops.watershed.");
}

}  // namespace cellrt::bind
