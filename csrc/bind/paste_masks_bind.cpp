// cellrt._core bindings of paste_masks, plus the CPU emulation of the CUDA algorithm (atomic
// key max over (roi, pixel) steps in a chosen order) in _core.testing.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "cellrt/kernels/paste_masks/paste_masks.h"
#include "checks.h"

namespace cellrt::bind {

namespace {

constexpr const char* kOp = "paste_masks";

PasteMasksParams check_inputs(const py::array& masks, const py::array& boxes,
                              const py::array& scores, int64_t image_h, int64_t image_w,
                              double threshold) {
  check_shape(kOp, "masks", masks, {-1, -1, -1}, "(R, mask_h, mask_w)");
  PasteMasksParams p;
  p.rois = masks.shape(0);
  p.mask_h = masks.shape(1);
  p.mask_w = masks.shape(2);
  const std::string boxes_shape = concat("(R, 4) = (", p.rois, ", 4)");
  check_shape(kOp, "boxes", boxes, {p.rois, 4}, boxes_shape.c_str());
  const std::string scores_shape = concat("(R,) = (", p.rois, ",)");
  check_shape(kOp, "scores", scores, {p.rois}, scores_shape.c_str());
  CELLRT_CHECK(image_h >= 0 && image_w >= 0, kOp,
               ": image_shape must be non-negative (H, W), got (", image_h, ", ", image_w, ")");
  CELLRT_CHECK(threshold >= 0.0 && threshold <= 1.0, kOp,
               ": threshold must be in [0, 1], got ", threshold);
  // Labels are int32 and the key keeps the index in 32 bits.
  CELLRT_CHECK(p.rois < std::numeric_limits<int32_t>::max(), kOp,
               ": at most 2^31 - 2 rois fit int32 labels, got ", p.rois);
  const py::dtype dt = masks.dtype();
  if (!dt.equal(py::dtype::of<float>()) && !dt.equal(py::dtype::of<double>())) {
    throw py::type_error(concat(kOp, ": masks must be float32 or float64, got ",
                                py::str(dt).cast<std::string>()));
  }
  if (!boxes.dtype().equal(py::dtype::of<double>())) {
    throw py::type_error(concat(kOp, ": boxes must be float64 here, got ",
                                py::str(boxes.dtype()).cast<std::string>()));
  }
  if (!scores.dtype().equal(py::dtype::of<float>())) {
    throw py::type_error(concat(kOp, ": scores must be float32 here, got ",
                                py::str(scores.dtype()).cast<std::string>()));
  }
  p.image_h = image_h;
  p.image_w = image_w;
  p.threshold = threshold;
  return p;
}

// Runs fn<T>(params, masks, boxes, scores, labels) for the masks' dtype and returns the labels.
template <typename Fn>
py::array_t<int32_t> run_typed(const py::array& masks, const py::array& boxes,
                               const py::array& scores, int64_t image_h, int64_t image_w,
                               double threshold, Fn&& fn) {
  const PasteMasksParams p = check_inputs(masks, boxes, scores, image_h, image_w, threshold);
  const carray<double> b = carray<double>::ensure(boxes);
  const carray<float> s = carray<float>::ensure(scores);
  py::array_t<int32_t> labels({image_h, image_w});
  if (image_h * image_w == 0) return labels;
  Status st;
  if (masks.dtype().equal(py::dtype::of<float>())) {
    const carray<float> m = carray<float>::ensure(masks);
    py::gil_scoped_release release;
    st = fn(p, m.data(), b.data(), s.data(), labels.mutable_data());
  } else {
    const carray<double> m = carray<double>::ensure(masks);
    py::gil_scoped_release release;
    st = fn(p, m.data(), b.data(), s.data(), labels.mutable_data());
  }
  throw_if_error(kOp, st);
  return labels;
}

PasteOrder parse_order(const std::string& order) {
  if (order == "forward") return PasteOrder::kForward;
  if (order == "reversed") return PasteOrder::kReversed;
  if (order == "shuffled") return PasteOrder::kShuffled;
  throw std::invalid_argument(concat(kOp, ": order must be 'forward', 'reversed' or 'shuffled', got '",
                                     order, "'"));
}

}  // namespace

void register_paste_masks(py::module_& m) {
  m.def(
      "paste_masks",
      [](const py::array& masks, const py::array& boxes, const py::array& scores, int64_t image_h,
         int64_t image_w, double threshold) {
        return run_typed(masks, boxes, scores, image_h, image_w, threshold,
                         [](const PasteMasksParams& p, const auto* mk, const double* bx,
                            const float* sc, int32_t* out) {
                           return paste_masks_cpu(p, mk, bx, sc, out);
                         });
      },
      py::arg("masks"), py::arg("boxes"), py::arg("scores"), py::arg("image_h"),
      py::arg("image_w"), py::arg("threshold"),
      "int32 (image_h, image_w) labels from (R, mh, mw) masks, float64 boxes, float32 scores.");
  py::module_ testing = m.attr("testing");
  testing.def(
      "paste_masks_emulate_device",
      [](const py::array& masks, const py::array& boxes, const py::array& scores, int64_t image_h,
         int64_t image_w, double threshold, const std::string& order, uint64_t seed,
         bool parallel) {
        const PasteOrder o = parse_order(order);
        return run_typed(masks, boxes, scores, image_h, image_w, threshold,
                         [&](const PasteMasksParams& p, const auto* mk, const double* bx,
                             const float* sc, int32_t* out) {
                           return paste_masks_emulate_device_cpu(p, mk, bx, sc, o, seed, parallel,
                                                                 out);
                         });
      },
      py::arg("masks"), py::arg("boxes"), py::arg("scores"), py::arg("image_h"),
      py::arg("image_w"), py::arg("threshold"), py::arg("order"), py::arg("seed") = 0,
      py::arg("parallel") = false,
      "paste_masks through the CUDA algorithm's steps (atomic key max) in the given order.");
}

}  // namespace cellrt::bind
