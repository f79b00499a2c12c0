// Sizes and threshold of one paste_masks call: masks (rois, mask_h, mask_w), boxes (rois, 4),
// scores (rois,), output label image (image_h, image_w). Passed by value to CUDA kernels.
#pragma once

#include <cstdint>
#include <type_traits>

namespace cellrt {

struct PasteMasksParams {
  int64_t rois = 0;
  int64_t mask_h = 0;
  int64_t mask_w = 0;
  int64_t image_h = 0;
  int64_t image_w = 0;
  double threshold = 0.5;  // a pixel belongs to an instance when its probability is > threshold
};

static_assert(std::is_trivially_copyable_v<PasteMasksParams>,
              "PasteMasksParams is passed to CUDA kernels by value");

}  // namespace cellrt
