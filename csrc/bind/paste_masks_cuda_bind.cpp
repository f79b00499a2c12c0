// cellrt._cuda binding of paste_masks: device addresses of dense tensors allocated and validated
// by python/cellrt/ops/paste_masks.py (masks float32/float16, boxes and scores float32, a keys
// workspace of image_h * image_w int64, labels int32), sizes, and the caller's stream.
#include <cstdint>
#include <limits>
#include <string>

#include <cuda_fp16.h>

#include "cellrt/kernels/paste_masks/paste_masks.h"
#include "cuda_args.h"

namespace cellrt::bind {

void register_paste_masks_cuda(py::module_& m) {
  m.def(
      "paste_masks",
      [](std::uintptr_t masks, std::uintptr_t boxes, std::uintptr_t scores, std::uintptr_t keys,
         std::uintptr_t labels, int64_t rois, int64_t mask_h, int64_t mask_w, int64_t image_h,
         int64_t image_w, double threshold, const std::string& dtype, std::uintptr_t stream) {
        constexpr const char* kOp = "paste_masks";
        CELLRT_CHECK(rois >= 0 && mask_h >= 0 && mask_w >= 0 && image_h >= 0 && image_w >= 0,
                     kOp, ": sizes must be >= 0");
        CELLRT_CHECK(rois < std::numeric_limits<int32_t>::max(), kOp,
                     ": at most 2^31 - 2 rois fit int32 labels, got ", rois);
        CELLRT_CHECK(threshold >= 0.0 && threshold <= 1.0, kOp,
                     ": threshold must be in [0, 1], got ", threshold);
        CELLRT_CHECK(dtype == "float32" || dtype == "float16", kOp,
                     ": CUDA masks dtype must be 'float32' or 'float16', got '", dtype, "'");
        const PasteMasksParams p{rois, mask_h, mask_w, image_h, image_w, threshold};
        if (image_h * image_w == 0) return;
        auto* k = dev_ptr<unsigned long long>(keys);
        Status s;
        {
          py::gil_scoped_release release;
          s = dtype == "float32"
                  ? paste_masks_cuda<float>(p, dev_ptr<const float>(masks),
                                            dev_ptr<const float>(boxes),
                                            dev_ptr<const float>(scores), k,
                                            dev_ptr<int32_t>(labels), as_stream(stream))
                  : paste_masks_cuda<__half>(p, dev_ptr<const __half>(masks),
                                             dev_ptr<const float>(boxes),
                                             dev_ptr<const float>(scores), k,
                                             dev_ptr<int32_t>(labels), as_stream(stream));
        }
        throw_if_error(kOp, s);
      },
      py::arg("masks"), py::arg("boxes"), py::arg("scores"), py::arg("keys"), py::arg("labels"),
      py::arg("rois"), py::arg("mask_h"), py::arg("mask_w"), py::arg("image_h"),
      py::arg("image_w"), py::arg("threshold"), py::arg("dtype"), py::arg("stream"),
      "paste_masks on device buffers, on the given stream.");
}

}  // namespace cellrt::bind
