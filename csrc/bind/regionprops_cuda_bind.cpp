// cellrt._cuda bindings of regionprops: device addresses of the accumulator tables (allocated by
// python/cellrt/ops/regionprops.py with torch), sizes, and the caller's stream.
#include <cstdint>

#include "cuda_args.h"
#include "cellrt/kernels/regionprops/regionprops.h"

namespace cellrt::bind {
namespace {

RegionpropsParams params(int64_t h, int64_t w, int64_t channels, int64_t num_classes,
                         int64_t num_bins) {
  CELLRT_CHECK(h >= 0 && w >= 0 && channels >= 0 && num_classes >= 0 && num_bins >= 1,
               "regionprops: invalid sizes H=", h, " W=", w, " C=", channels, " K=", num_classes,
               " bins=", num_bins);
  return RegionpropsParams{h, w, channels, num_classes, num_bins};
}

RegionpropsAccum accum(std::uintptr_t count, std::uintptr_t sum_y, std::uintptr_t sum_x,
                       std::uintptr_t bbox, std::uintptr_t sum_intensity,
                       std::uintptr_t class_count) {
  return RegionpropsAccum{dev_ptr<rp_u64>(count),  dev_ptr<rp_u64>(sum_y),
                          dev_ptr<rp_u64>(sum_x),  dev_ptr<int32_t>(bbox),
                          dev_ptr<double>(sum_intensity), dev_ptr<rp_u64>(class_count)};
}

}  // namespace

void register_regionprops_cuda(py::module_& m) {
  m.def(
      "regionprops_shape",
      [](int64_t h, int64_t w, int64_t n, std::uintptr_t labels, std::uintptr_t lut,
         std::uintptr_t bbox, std::uintptr_t area, std::uintptr_t row_offset,
         std::uintptr_t moments, std::uintptr_t perimeter_count, std::uintptr_t row_min,
         std::uintptr_t row_max, std::uintptr_t hull, std::uintptr_t perimeter,
         std::uintptr_t eccentricity, std::uintptr_t major, std::uintptr_t minor,
         std::uintptr_t orientation, std::uintptr_t convex_area, std::uintptr_t stream) {
        CELLRT_CHECK(h >= 0 && w >= 0 && n >= 0, "regionprops: invalid sizes H=", h, " W=", w,
                     " N=", n);
        const ShapeParams p{h, w, n};
        py::gil_scoped_release release;
        const ShapeAccum a{dev_ptr<const int64_t>(lut),        dev_ptr<const int64_t>(bbox),
                           dev_ptr<const int64_t>(area),       dev_ptr<const int64_t>(row_offset),
                           dev_ptr<rp_u64>(moments),           dev_ptr<rp_u64>(perimeter_count),
                           dev_ptr<int32_t>(row_min),          dev_ptr<int32_t>(row_max),
                           dev_ptr<int64_t>(hull)};
        const ShapeOutput o{dev_ptr<double>(perimeter), dev_ptr<double>(eccentricity),
                            dev_ptr<double>(major),     dev_ptr<double>(minor),
                            dev_ptr<double>(orientation), dev_ptr<int64_t>(convex_area)};
        throw_if_error("regionprops", regionprops_shape_cuda(p, dev_ptr<const int32_t>(labels),
                                                             a, o, as_stream(stream)));
      },
      py::arg("height"), py::arg("width"), py::arg("num_rows"), py::arg("labels"),
      py::arg("lut"), py::arg("bbox"), py::arg("area"), py::arg("row_offset"),
      py::arg("moments"), py::arg("perimeter_count"), py::arg("row_min"), py::arg("row_max"),
      py::arg("hull"), py::arg("perimeter"), py::arg("eccentricity"), py::arg("major"),
      py::arg("minor"), py::arg("orientation"), py::arg("convex_area"), py::arg("stream"),
      "Shape descriptors of the present labels (regionprops_shape.h).");
  m.def(
      "regionprops_init",
      [](int64_t h, int64_t w, int64_t c, int64_t k, int64_t bins, std::uintptr_t count,
         std::uintptr_t sum_y, std::uintptr_t sum_x, std::uintptr_t bbox, std::uintptr_t sum_int,
         std::uintptr_t class_count, std::uintptr_t stream) {
        const RegionpropsParams p = params(h, w, c, k, bins);
        py::gil_scoped_release release;
        const RegionpropsAccum acc = accum(count, sum_y, sum_x, bbox, sum_int, class_count);
        throw_if_error("regionprops", regionprops_init_cuda(p, acc, as_stream(stream)));
      },
      py::arg("height"), py::arg("width"), py::arg("channels"), py::arg("num_classes"),
      py::arg("num_bins"), py::arg("count"), py::arg("sum_y"), py::arg("sum_x"), py::arg("bbox"),
      py::arg("sum_intensity"), py::arg("class_count"), py::arg("stream"),
      "Initialise the per-label accumulator tables.");
  m.def(
      "regionprops_accumulate",
      [](int64_t h, int64_t w, int64_t c, int64_t k, int64_t bins, std::uintptr_t labels,
         std::uintptr_t intensity, std::uintptr_t classes, std::uintptr_t count,
         std::uintptr_t sum_y, std::uintptr_t sum_x, std::uintptr_t bbox, std::uintptr_t sum_int,
         std::uintptr_t class_count, std::uintptr_t stream) {
        const RegionpropsParams p = params(h, w, c, k, bins);
        if (h * w == 0) return;
        py::gil_scoped_release release;
        const RegionpropsAccum acc = accum(count, sum_y, sum_x, bbox, sum_int, class_count);
        throw_if_error("regionprops",
                       regionprops_accumulate_cuda(p, dev_ptr<const int32_t>(labels),
                                                   dev_ptr<const float>(intensity),
                                                   dev_ptr<const int32_t>(classes), acc,
                                                   as_stream(stream)));
      },
      py::arg("height"), py::arg("width"), py::arg("channels"), py::arg("num_classes"),
      py::arg("num_bins"), py::arg("labels"), py::arg("intensity"), py::arg("classes"),
      py::arg("count"), py::arg("sum_y"), py::arg("sum_x"), py::arg("bbox"),
      py::arg("sum_intensity"), py::arg("class_count"), py::arg("stream"),
      "Add every pixel (int32 labels, float32 (H, W, C) intensity, int32 classes) to its label.");
  m.def(
      "regionprops_finalize",
      [](int64_t h, int64_t w, int64_t c, int64_t k, int64_t bins, std::uintptr_t count,
         std::uintptr_t sum_y, std::uintptr_t sum_x, std::uintptr_t bbox, std::uintptr_t sum_int,
         std::uintptr_t class_count, std::uintptr_t present, int64_t num_present,
         std::uintptr_t area, std::uintptr_t bbox_out, std::uintptr_t centroid,
         std::uintptr_t mean_intensity, std::uintptr_t majority_class, std::uintptr_t stream) {
        const RegionpropsParams p = params(h, w, c, k, bins);
        CELLRT_CHECK(num_present >= 0, "regionprops: num_present must be >= 0, got ", num_present);
        if (num_present == 0) return;
        const RegionpropsOutput o{dev_ptr<int64_t>(area), dev_ptr<int64_t>(bbox_out),
                                  dev_ptr<double>(centroid), dev_ptr<double>(mean_intensity),
                                  dev_ptr<int64_t>(majority_class)};
        py::gil_scoped_release release;
        const RegionpropsAccum acc = accum(count, sum_y, sum_x, bbox, sum_int, class_count);
        throw_if_error("regionprops",
                       regionprops_finalize_cuda(p, acc, dev_ptr<const int64_t>(present),
                                                 num_present, o, as_stream(stream)));
      },
      py::arg("height"), py::arg("width"), py::arg("channels"), py::arg("num_classes"),
      py::arg("num_bins"), py::arg("count"), py::arg("sum_y"), py::arg("sum_x"), py::arg("bbox"),
      py::arg("sum_intensity"), py::arg("class_count"), py::arg("present"), py::arg("num_present"),
      py::arg("area"), py::arg("bbox_out"), py::arg("centroid"), py::arg("mean_intensity"),
      py::arg("majority_class"), py::arg("stream"),
      "One output row per present label (int64 label values, increasing).");
}

}  // namespace cellrt::bind
