// cellrt._cuda bindings of attention_fusion: device addresses (tensor.data_ptr()) of dense
// float32 or float16 tensors allocated and validated by python/cellrt/ops/attention_fusion.py,
// sizes, and the caller's stream.
#include <cstdint>
#include <string>

#include <cuda_fp16.h>

#include "cellrt/kernels/attention_fusion/attention_fusion.h"
#include "cuda_args.h"

namespace cellrt::bind {

namespace {

constexpr const char* kOp = "attention_fusion";

AttentionFusionParams make_params(int64_t rois, int64_t channels, int64_t height, int64_t width) {
  CELLRT_CHECK(rois >= 0 && channels >= 0 && height >= 0 && width >= 0, kOp,
               ": sizes must be >= 0, got (", rois, ", ", channels, ", ", height, ", ", width,
               ")");
  return AttentionFusionParams{rois, channels, height, width};
}

void check_dtype(const std::string& dtype) {
  CELLRT_CHECK(dtype == "float32" || dtype == "float16", kOp,
               ": CUDA dtype must be 'float32' or 'float16', got '", dtype, "'");
}

template <typename T>
Status forward_t(const AttentionFusionParams& p, std::uintptr_t f, std::uintptr_t m,
                 std::uintptr_t w, std::uintptr_t b, std::uintptr_t out, std::uintptr_t stream) {
  return attention_fusion_forward_cuda<T>(p, dev_ptr<const T>(f), dev_ptr<const T>(m),
                                          dev_ptr<const T>(w), dev_ptr<const T>(b),
                                          dev_ptr<T>(out), as_stream(stream));
}

template <typename T>
Status backward_t(const AttentionFusionParams& p, std::uintptr_t go, std::uintptr_t f,
                  std::uintptr_t m, std::uintptr_t w, std::uintptr_t b, std::uintptr_t gf,
                  std::uintptr_t gm, std::uintptr_t gw, std::uintptr_t gb,
                  std::uintptr_t workspace, std::uintptr_t stream) {
  return attention_fusion_backward_cuda<T>(
      p, dev_ptr<const T>(go), dev_ptr<const T>(f), dev_ptr<const T>(m), dev_ptr<const T>(w),
      dev_ptr<const T>(b), dev_ptr<T>(gf), dev_ptr<T>(gm), dev_ptr<T>(gw), dev_ptr<T>(gb),
      dev_ptr<float>(workspace), as_stream(stream));
}

}  // namespace

void register_attention_fusion_cuda(py::module_& m) {
  m.def(
      "attention_fusion_forward",
      [](std::uintptr_t features, std::uintptr_t mask_logits, std::uintptr_t weight,
         std::uintptr_t bias, std::uintptr_t out, int64_t rois, int64_t channels, int64_t height,
         int64_t width, const std::string& dtype, std::uintptr_t stream) {
        const AttentionFusionParams p = make_params(rois, channels, height, width);
        check_dtype(dtype);
        if (p.numel() == 0) return;
        Status s;
        {
          py::gil_scoped_release release;
          s = dtype == "float32"
                  ? forward_t<float>(p, features, mask_logits, weight, bias, out, stream)
                  : forward_t<__half>(p, features, mask_logits, weight, bias, out, stream);
        }
        throw_if_error(kOp, s);
      },
      py::arg("features"), py::arg("mask_logits"), py::arg("weight"), py::arg("bias"),
      py::arg("out"), py::arg("rois"), py::arg("channels"), py::arg("height"), py::arg("width"),
      py::arg("dtype"), py::arg("stream"), "Forward on device buffers, on the given stream.");
  m.def(
      "attention_fusion_backward",
      [](std::uintptr_t grad_out, std::uintptr_t features, std::uintptr_t mask_logits,
         std::uintptr_t weight, std::uintptr_t bias, std::uintptr_t grad_features,
         std::uintptr_t grad_mask, std::uintptr_t grad_weight, std::uintptr_t grad_bias,
         std::uintptr_t workspace, int64_t rois, int64_t channels, int64_t height, int64_t width,
         const std::string& dtype, std::uintptr_t stream) {
        const AttentionFusionParams p = make_params(rois, channels, height, width);
        check_dtype(dtype);
        // No early return on empty features: grad_mask (R, 1, H, W) and grad_weight / grad_bias
        // (C,) may still be non-empty and are written (as zeros) by the kernels.
        Status s;
        {
          py::gil_scoped_release release;
          s = dtype == "float32"
                  ? backward_t<float>(p, grad_out, features, mask_logits, weight, bias,
                                      grad_features, grad_mask, grad_weight, grad_bias, workspace,
                                      stream)
                  : backward_t<__half>(p, grad_out, features, mask_logits, weight, bias,
                                       grad_features, grad_mask, grad_weight, grad_bias,
                                       workspace, stream);
        }
        throw_if_error(kOp, s);
      },
      py::arg("grad_out"), py::arg("features"), py::arg("mask_logits"), py::arg("weight"),
      py::arg("bias"), py::arg("grad_features"), py::arg("grad_mask"), py::arg("grad_weight"),
      py::arg("grad_bias"), py::arg("workspace"), py::arg("rois"), py::arg("channels"),
      py::arg("height"), py::arg("width"), py::arg("dtype"), py::arg("stream"),
      "Backward on device buffers; workspace holds attention_fusion_backward_workspace_floats.");
  m.def(
      "attention_fusion_backward_workspace_floats",
      [](int64_t rois, int64_t channels) {
        return attention_fusion_backward_workspace_floats(make_params(rois, channels, 0, 0));
      },
      py::arg("rois"), py::arg("channels"), "float32 elements of the backward's device workspace.");
}

}  // namespace cellrt::bind
