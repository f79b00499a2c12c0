// cellrt._cuda bindings of the label family: device addresses (tensor.data_ptr()) plus sizes and
// the caller's stream; python/cellrt/ops/label.py allocates every buffer with torch.
#include <cstdint>

#include "cuda_args.h"
#include "cellrt/kernels/common/index.h"
#include "cellrt/kernels/label/label.h"

namespace cellrt::bind {
namespace {

LabelParams image_params(const char* op, int64_t h, int64_t w, int connectivity) {
  CELLRT_CHECK(h >= 0 && w >= 0, op, ": image sizes must be >= 0, got ", h, "x", w);
  CELLRT_CHECK(fits_int32(h * w), op, ": the CUDA path needs H*W < 2^31 pixels, got ", h * w);
  CELLRT_CHECK(connectivity == 1 || connectivity == 2, op,
               ": connectivity must be 1 (4-neighbour) or 2 (8-neighbour), got ", connectivity);
  return LabelParams{h, w, connectivity};
}

}  // namespace

void register_label_cuda(py::module_& m) {
  m.def(
      "label_workspace_bytes",
      [](int64_t n) {
        CELLRT_CHECK(n >= 0 && fits_int32(n), "label: pixel count must be in 0..2^31-1, got ", n);
        size_t bytes = 0;
        throw_if_error("label", label_cuda_workspace_bytes(n, &bytes));
        return bytes;
      },
      py::arg("n"), "Scan workspace bytes label() needs for n pixels.");
  m.def(
      "label",
      [](std::uintptr_t fg, int64_t h, int64_t w, int connectivity, std::uintptr_t parent,
         std::uintptr_t rank, std::uintptr_t temp, size_t temp_bytes, std::uintptr_t out,
         std::uintptr_t stream) {
        const LabelParams p = image_params("label", h, w, connectivity);
        if (h * w == 0) return;
        py::gil_scoped_release release;
        throw_if_error("label", label_cuda(dev_ptr<const uint8_t>(fg), p, dev_ptr<int32_t>(parent),
                                           dev_ptr<int32_t>(rank), dev_ptr<void>(temp), temp_bytes,
                                           dev_ptr<int32_t>(out), as_stream(stream)));
      },
      py::arg("fg"), py::arg("height"), py::arg("width"), py::arg("connectivity"),
      py::arg("parent"), py::arg("rank"), py::arg("temp"), py::arg("temp_bytes"), py::arg("out"),
      py::arg("stream"),
      "Connected components of a uint8 mask into int32 labels (raster order of first pixels).");
  m.def(
      "label_histogram",
      [](std::uintptr_t labels, int64_t n, std::uintptr_t counts, std::uintptr_t stream) {
        CELLRT_CHECK(n >= 0, "label_histogram: n must be >= 0, got ", n);
        if (n == 0) return;
        py::gil_scoped_release release;
        throw_if_error("label_histogram", label_histogram_cuda(dev_ptr<const int32_t>(labels), n,
                                                               dev_ptr<int32_t>(counts),
                                                               as_stream(stream)));
      },
      py::arg("labels"), py::arg("n"), py::arg("counts"), py::arg("stream"),
      "counts[v] += pixels of value v > 0 (int32 labels and counts; counts zeroed by the caller).");
  m.def(
      "label_lookup",
      [](std::uintptr_t labels, int64_t n, std::uintptr_t lut, std::uintptr_t out,
         std::uintptr_t stream) {
        CELLRT_CHECK(n >= 0, "label_lookup: n must be >= 0, got ", n);
        if (n == 0) return;
        py::gil_scoped_release release;
        throw_if_error("label_lookup", label_lookup_cuda(dev_ptr<const int32_t>(labels), n,
                                                         dev_ptr<const int32_t>(lut),
                                                         dev_ptr<int32_t>(out), as_stream(stream)));
      },
      py::arg("labels"), py::arg("n"), py::arg("lut"), py::arg("out"), py::arg("stream"),
      "out[i] = lut[labels[i]] (int32).");
  m.def(
      "relabel_lut",
      [](std::uintptr_t counts, std::uintptr_t rank, int64_t bins, std::uintptr_t lut,
         std::uintptr_t stream) {
        py::gil_scoped_release release;
        throw_if_error("relabel_sequential",
                       relabel_lut_cuda(dev_ptr<const int32_t>(counts),
                                        dev_ptr<const int64_t>(rank), bins,
                                        dev_ptr<int32_t>(lut), as_stream(stream)));
      },
      py::arg("counts"), py::arg("rank"), py::arg("bins"), py::arg("lut"), py::arg("stream"),
      "relabel_sequential's table from the histogram and the inclusive count of present values.");
  m.def(
      "remove_small_lut",
      [](std::uintptr_t counts, int64_t bins, int64_t min_size, std::uintptr_t lut,
         std::uintptr_t stream) {
        CELLRT_CHECK(min_size >= 0, "remove_small_objects: min_size must be >= 0, got ", min_size);
        py::gil_scoped_release release;
        throw_if_error("remove_small_objects",
                       remove_small_lut_cuda(dev_ptr<const int32_t>(counts), bins, min_size,
                                             dev_ptr<int32_t>(lut), as_stream(stream)));
      },
      py::arg("counts"), py::arg("bins"), py::arg("min_size"), py::arg("lut"), py::arg("stream"),
      "remove_small_objects' table: v if its area >= min_size else 0.");
  m.def(
      "fill_holes",
      [](std::uintptr_t labels, int64_t h, int64_t w, std::uintptr_t comp, std::uintptr_t owner,
         std::uintptr_t out, std::uintptr_t stream) {
        const LabelParams p = image_params("fill_holes", h, w, 1);
        if (h * w == 0) return;
        py::gil_scoped_release release;
        throw_if_error("fill_holes", fill_holes_cuda(dev_ptr<const int32_t>(labels), p,
                                                     dev_ptr<const int32_t>(comp),
                                                     dev_ptr<int32_t>(owner), dev_ptr<int32_t>(out),
                                                     as_stream(stream)));
      },
      py::arg("labels"), py::arg("height"), py::arg("width"), py::arg("comp"), py::arg("owner"),
      py::arg("out"), py::arg("stream"),
      "Fill holes given background components comp and an owner table set to -1.");
}

}  // namespace cellrt::bind
