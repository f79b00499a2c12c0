// cellrt._cuda bindings of roi_align: device addresses (tensor.data_ptr()) plus sizes, attributes
// and the caller's stream. The Python wrapper validated shapes and batch indices, allocated the
// outputs (zeroed for the backward) and keeps every buffer alive.
#include <cstdint>
#include <string>

#include "cellrt/kernels/roi_align/roi_align.h"
#include "cuda_args.h"
#include "roi_align_args.h"

namespace cellrt::bind {
namespace {

// Dispatch on the dtype name ("float32", "float16", "float64"); rois are float32 for both float
// types, float64 for float64.
template <typename F>
void dispatch(const char* op, const std::string& dtype, F&& f) {
  if (dtype == "float32") {
    f(float{}, float{});
  } else if (dtype == "float16") {
    f(__half{}, float{});
  } else if (dtype == "float64") {
    f(double{}, double{});
  } else {
    throw py::type_error(concat(op, ": dtype must be float32, float16 or float64, got ", dtype));
  }
}

// Forward and backward launchers share one signature, (params, src, rois, dst, stream): src and
// dst are input and output (forward) or grad_output and grad_input (backward).
enum class Pass { kForward, kBackward };

template <Pass kPass>
void run_pass(std::uintptr_t src, std::uintptr_t rois, std::uintptr_t dst, int64_t batch,
              int64_t channels, int64_t height, int64_t width, int64_t num_rois, int64_t pooled_h,
              int64_t pooled_w, double spatial_scale, int64_t sampling_ratio, bool aligned,
              const std::string& dtype, std::uintptr_t stream) {
  const char* op = kPass == Pass::kForward ? "roi_align" : "roi_align_backward";
  const RoiAlignParams p =
      make_roi_align_params(op, batch, channels, height, width, num_rois, pooled_h, pooled_w,
                            spatial_scale, sampling_ratio, aligned);
  dispatch(op, dtype, [&](auto t, auto r) {
    using T = decltype(t);
    using R = decltype(r);
    if (num_rois * channels == 0) return;  // nothing to pool (the backward's dst stays zero)
    Status s;
    {
      py::gil_scoped_release release;
      auto* launch = kPass == Pass::kForward ? &roi_align_forward_cuda<T, R>
                                             : &roi_align_backward_cuda<T, R>;
      s = launch(p, dev_ptr<const T>(src), dev_ptr<const R>(rois), dev_ptr<T>(dst),
                 as_stream(stream));
    }
    throw_if_error(op, s);
  });
}

void fpn_levels(std::uintptr_t rois, std::uintptr_t levels, int64_t num_rois,
                double canonical_size, double canonical_level, int64_t k_min, int64_t num_levels,
                const std::string& dtype, std::uintptr_t stream) {
  const char* op = "multilevel_roi_align";
  CELLRT_CHECK(num_levels >= 1 && num_rois >= 0, op,
               ": need num_levels >= 1 and num_rois >= 0, got ", num_levels, " and ", num_rois);
  const RoiAlignFpnParams fpn{canonical_size, canonical_level, k_min, num_levels};
  dispatch(op, dtype, [&](auto, auto r) {
    using R = decltype(r);
    if (num_rois == 0) return;
    Status s;
    {
      py::gil_scoped_release release;
      s = roi_align_fpn_levels_cuda<R>(fpn, num_rois, dev_ptr<const R>(rois),
                                       dev_ptr<int64_t>(levels), as_stream(stream));
    }
    throw_if_error(op, s);
  });
}

}  // namespace

void register_roi_align_cuda(py::module_& m) {
  m.def("roi_align_forward", &run_pass<Pass::kForward>, py::arg("input"), py::arg("rois"),
        py::arg("output"), py::arg("batch"), py::arg("channels"), py::arg("height"),
        py::arg("width"), py::arg("num_rois"), py::arg("pooled_h"), py::arg("pooled_w"),
        py::arg("spatial_scale"), py::arg("sampling_ratio"), py::arg("aligned"), py::arg("dtype"),
        py::arg("stream"),
        "RoIAlign forward on device buffers: input NCHW, rois (K, 5), output (K, C, ph, pw).");
  m.def("roi_align_backward", &run_pass<Pass::kBackward>, py::arg("grad_output"),
        py::arg("rois"), py::arg("grad_input"), py::arg("batch"), py::arg("channels"),
        py::arg("height"), py::arg("width"), py::arg("num_rois"), py::arg("pooled_h"),
        py::arg("pooled_w"), py::arg("spatial_scale"), py::arg("sampling_ratio"),
        py::arg("aligned"), py::arg("dtype"), py::arg("stream"),
        "RoIAlign backward on device buffers; grad_input (NCHW) must be zeroed by the caller.");
  m.def("roi_align_fpn_levels", &fpn_levels, py::arg("rois"), py::arg("levels"),
        py::arg("num_rois"), py::arg("canonical_size"), py::arg("canonical_level"),
        py::arg("k_min"), py::arg("num_levels"), py::arg("dtype"), py::arg("stream"),
        "FPN level index (int64, -1: none) of each RoI row (of the box dtype of `dtype` features), "
        "on the device.");
}

}  // namespace cellrt::bind
