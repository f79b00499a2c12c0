// cellrt._cuda binding of the NMS suppression-mask kernel. The Python wrapper sorts by score with
// torch, passes the sorted boxes / categories and a mask buffer of nms_mask_words(n) int64 words
// as device addresses, then reduces the mask on the host with _core.nms_reduce_mask.
#include <cstdint>
#include <string>

#include "cuda_args.h"
#include "cellrt/kernels/nms/nms.h"

namespace cellrt::bind {

namespace {

void nms_mask(std::uintptr_t sorted_boxes, std::uintptr_t sorted_idxs, int64_t n,
              double iou_threshold, const std::string& dtype, std::uintptr_t mask,
              std::uintptr_t stream) {
  CELLRT_CHECK(n >= 0 && n <= kNmsMaxMaskBoxes, "nms_mask: n must be in [0, ", kNmsMaxMaskBoxes,
               "], got ", n);
  if (n == 0) return;
  CELLRT_CHECK(sorted_boxes != 0 && mask != 0, "nms_mask: sorted_boxes and mask must be non-null");
  const NmsParams p{n, ceil_div(n, kNmsBlock), iou_threshold};
  const int64_t* cls = sorted_idxs ? dev_ptr<const int64_t>(sorted_idxs) : nullptr;
  CELLRT_CHECK(dtype == "float32" || dtype == "float64",
               "nms_mask: dtype must be 'float32' or 'float64', got '", dtype, "'");
  Status s;
  {
    py::gil_scoped_release release;
    s = dtype == "float32"
            ? nms_mask_cuda<float>(p, dev_ptr<const float>(sorted_boxes), cls,
                                   dev_ptr<uint64_t>(mask), as_stream(stream))
            : nms_mask_cuda<double>(p, dev_ptr<const double>(sorted_boxes), cls,
                                    dev_ptr<uint64_t>(mask), as_stream(stream));
  }
  throw_if_error("nms_mask", s);
}

}  // namespace

void register_nms_cuda(py::module_& m) {
  m.def("nms_mask", &nms_mask, py::arg("sorted_boxes"), py::arg("sorted_idxs"), py::arg("n"),
        py::arg("iou_threshold"), py::arg("dtype"), py::arg("mask"), py::arg("stream"),
        "Suppression mask of n score-sorted boxes (device address of n x 4 float32/float64; "
        "sorted_idxs: int64 categories or 0) into mask (n x ceil(n/64) uint64), on stream.");
}

}  // namespace cellrt::bind
