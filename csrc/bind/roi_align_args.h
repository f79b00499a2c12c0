// RoiAlignParams from the arguments of the roi_align bindings, checked the same way for
// cellrt._core (sizes read from the arrays) and cellrt._cuda (sizes passed with the device
// addresses): user errors throw std::invalid_argument (ValueError) naming the op.
#pragma once

#include <cmath>
#include <cstdint>

#include "cellrt/kernels/roi_align/roi_align_params.h"
#include "checks.h"

namespace cellrt::bind {

inline RoiAlignParams make_roi_align_params(const char* op, int64_t batch, int64_t channels,
                                            int64_t height, int64_t width, int64_t num_rois,
                                            int64_t pooled_h, int64_t pooled_w,
                                            double spatial_scale, int64_t sampling_ratio,
                                            bool aligned) {
  CELLRT_CHECK(pooled_h >= 1 && pooled_w >= 1, op,
               ": output_size must be >= 1 in both dimensions, got (", pooled_h, ", ", pooled_w,
               ")");
  CELLRT_CHECK(std::isfinite(spatial_scale) && spatial_scale > 0, op,
               ": spatial_scale must be a finite number > 0, got ", spatial_scale);
  CELLRT_CHECK(batch >= 0 && channels >= 0 && num_rois >= 0, op,
               ": batch, channels and the number of rois must be >= 0, got ", batch, ", ",
               channels, " and ", num_rois);
  CELLRT_CHECK(height >= 1 && width >= 1, op,
               ": the feature map must have height and width >= 1 (an empty map has nothing to "
               "sample), got ",
               height, " x ", width);
  return RoiAlignParams{batch,    channels, height,        width,          num_rois,
                        pooled_h, pooled_w, spatial_scale, sampling_ratio, aligned};
}

}  // namespace cellrt::bind
