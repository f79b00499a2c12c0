// cellrt._core bindings of nms / batched_nms, the host half of the CUDA path (mask reduction,
// workspace size) and, in _core.testing, the CPU emulation of the CUDA mask kernel.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "checks.h"
#include "cellrt/kernels/nms/nms.h"

namespace cellrt::bind {
namespace {

constexpr const char* kBoxesShape = "(N, 4)";

// Converts a validated array to the kernel dtype (a no-op when the Python wrapper already did).
template <typename T>
carray<T> as_carray(const char* op, const char* arg, const py::array& a) {
  carray<T> c = carray<T>::ensure(a);
  if (!c) {
    throw py::type_error(concat(op, ": ", arg, " must be convertible to ",
                                py::str(py::dtype::of<T>()).cast<std::string>(), ", got ",
                                py::str(a.dtype()).cast<std::string>()));
  }
  return c;
}

// Validates boxes / scores / idxs and returns n. `op` names the public function in messages.
int64_t check_inputs(const char* op, const py::array& boxes, const py::array& scores,
                     const py::array* idxs) {
  check_shape(op, "boxes", boxes, {-1, 4}, kBoxesShape);
  check_shape(op, "scores", scores, {-1}, "(N,)");
  const int64_t n = boxes.shape(0);
  CELLRT_CHECK(scores.shape(0) == n, op, ": scores must have one entry per box (", n,
               "), got shape ", shape_str(scores));
  if (idxs != nullptr) {
    check_shape(op, "idxs", *idxs, {-1}, "(N,)");
    CELLRT_CHECK(idxs->shape(0) == n, op, ": idxs must have one entry per box (", n,
                 "), got shape ", shape_str(*idxs));
  }
  return n;
}

template <typename T>
py::array_t<int64_t> run_nms(const char* op, const carray<T>& boxes, const carray<double>& scores,
                             const carray<int64_t>* idxs, double iou_threshold) {
  const int64_t n = boxes.shape(0);
  if (n == 0) return py::array_t<int64_t>(0);
  std::vector<int64_t> keep(static_cast<size_t>(n));
  int64_t count = 0;
  const NmsParams p{n, ceil_div(n, kNmsBlock), iou_threshold};
  Status s;
  {
    py::gil_scoped_release release;
    s = nms_cpu<T>(p, boxes.data(), scores.data(), idxs ? idxs->data() : nullptr, keep.data(),
                   &count);
  }
  throw_if_error(op, s);
  py::array_t<int64_t> out(count);
  std::copy(keep.begin(), keep.begin() + count, out.mutable_data());
  return out;
}

py::array_t<int64_t> dispatch_nms(const char* op, const py::array& boxes, const py::array& scores,
                                  const std::optional<py::array>& idxs, double iou_threshold) {
  check_inputs(op, boxes, scores, idxs ? &*idxs : nullptr);
  const carray<double> s = as_carray<double>(op, "scores", scores);
  std::optional<carray<int64_t>> cls;
  if (idxs) cls = as_carray<int64_t>(op, "idxs", *idxs);
  if (py::isinstance<py::array_t<float>>(boxes)) {
    return run_nms<float>(op, as_carray<float>(op, "boxes", boxes), s, cls ? &*cls : nullptr,
                          iou_threshold);
  }
  if (py::isinstance<py::array_t<double>>(boxes)) {
    return run_nms<double>(op, as_carray<double>(op, "boxes", boxes), s, cls ? &*cls : nullptr,
                           iou_threshold);
  }
  throw py::type_error(concat(op, ": boxes must be float32 or float64, got ",
                              py::str(boxes.dtype()).cast<std::string>()));
}

py::array_t<int64_t> reduce_mask(const carray<uint64_t>& mask, int64_t n) {
  CELLRT_CHECK(n >= 0 && n <= kNmsMaxMaskBoxes, "nms_reduce_mask: n must be in [0, ",
               kNmsMaxMaskBoxes, "], got ", n);
  CELLRT_CHECK(mask.size() == nms_mask_words(n), "nms_reduce_mask: mask must hold ",
               nms_mask_words(n), " words for n = ", n, ", got ", mask.size());
  if (n == 0) return py::array_t<int64_t>(0);
  std::vector<int64_t> keep(static_cast<size_t>(n));
  int64_t count = 0;
  Status s;
  {
    py::gil_scoped_release release;
    s = nms_reduce_mask(mask.data(), n, ceil_div(n, kNmsBlock), keep.data(), &count);
  }
  throw_if_error("nms_reduce_mask", s);
  py::array_t<int64_t> out(count);
  std::copy(keep.begin(), keep.begin() + count, out.mutable_data());
  return out;
}

// The whole CUDA chain on the CPU: sort, gather, mask words by the emulated kernel, host
// reduction, back to box indices.
template <typename T>
py::array_t<int64_t> emulate(const carray<T>& boxes, const carray<double>& scores,
                             const carray<int64_t>* idxs, double iou_threshold,
                             NmsEmulationOrder order, uint64_t seed) {
  const int64_t n = boxes.shape(0);
  CELLRT_CHECK(n <= 20000, "nms_mask_emulated: n must be <= 20000 (quadratic mask), got ", n);
  if (n == 0) return py::array_t<int64_t>(0);
  const NmsParams p{n, ceil_div(n, kNmsBlock), iou_threshold};
  std::vector<int64_t> perm(static_cast<size_t>(n)), keep_pos(static_cast<size_t>(n));
  std::vector<T> sorted_boxes(static_cast<size_t>(4 * n));
  std::vector<int64_t> sorted_idxs(idxs ? static_cast<size_t>(n) : 0);
  // Poisoned so that a word the emulated kernel never wrote cannot pass for "no suppression".
  std::vector<uint64_t> mask(static_cast<size_t>(nms_mask_words(n)), 0xA5A5A5A5A5A5A5A5ull);
  int64_t count = 0;
  Status s = Status::kOk;
  {
    py::gil_scoped_release release;
    s = nms_sort_order_cpu(n, scores.data(), perm.data());
    for (int64_t k = 0; k < n && s == Status::kOk; ++k) {
      for (int c = 0; c < 4; ++c) sorted_boxes[4 * k + c] = boxes.data()[4 * perm[k] + c];
      if (idxs) sorted_idxs[k] = idxs->data()[perm[k]];
    }
    if (s == Status::kOk) {
      s = nms_mask_emulate_cpu<T>(p, sorted_boxes.data(), idxs ? sorted_idxs.data() : nullptr,
                                  mask.data(), order, seed);
    }
    if (s == Status::kOk) {
      s = nms_reduce_mask(mask.data(), n, p.col_blocks, keep_pos.data(), &count);
    }
  }
  throw_if_error("nms_mask_emulated", s);
  py::array_t<int64_t> out(count);
  for (int64_t k = 0; k < count; ++k) out.mutable_data()[k] = perm[keep_pos[k]];
  return out;
}

py::array_t<int64_t> mask_emulated(const py::array& boxes, const py::array& scores,
                                   const std::optional<py::array>& idxs, double iou_threshold,
                                   const std::string& order, uint64_t seed) {
  const char* op = "nms_mask_emulated";
  check_inputs(op, boxes, scores, idxs ? &*idxs : nullptr);
  NmsEmulationOrder o;
  if (order == "forward") {
    o = NmsEmulationOrder::kForward;
  } else if (order == "reversed") {
    o = NmsEmulationOrder::kReversed;
  } else if (order == "shuffled") {
    o = NmsEmulationOrder::kShuffled;
  } else {
    throw std::invalid_argument(
        concat(op, ": order must be 'forward', 'reversed' or 'shuffled', got '", order, "'"));
  }
  const carray<double> s = as_carray<double>(op, "scores", scores);
  std::optional<carray<int64_t>> cls;
  if (idxs) cls = as_carray<int64_t>(op, "idxs", *idxs);
  if (py::isinstance<py::array_t<float>>(boxes)) {
    return emulate<float>(as_carray<float>(op, "boxes", boxes), s, cls ? &*cls : nullptr,
                          iou_threshold, o, seed);
  }
  if (py::isinstance<py::array_t<double>>(boxes)) {
    return emulate<double>(as_carray<double>(op, "boxes", boxes), s, cls ? &*cls : nullptr,
                           iou_threshold, o, seed);
  }
  throw py::type_error(concat(op, ": boxes must be float32 or float64, got ",
                              py::str(boxes.dtype()).cast<std::string>()));
}

py::dict launch_config(int64_t n, int64_t max_blocks) {
  CELLRT_CHECK(n >= 0, "nms_mask_launch_config: n must be >= 0, got ", n);
  CELLRT_CHECK(max_blocks >= 1, "nms_mask_launch_config: max_blocks must be >= 1, got ",
               max_blocks);
  const NmsMaskLaunch c = nms_mask_launch_config(n, max_blocks);
  py::dict d;
  d["col_blocks"] = c.col_blocks;
  d["tiles"] = c.tiles;
  d["blocks"] = c.blocks;
  d["threads"] = c.threads;
  d["mask_words"] = nms_mask_words(n);
  d["workspace_bytes"] = nms_mask_workspace_bytes(n);
  return d;
}

}  // namespace

void register_nms(py::module_& m) {
  m.def(
      "nms",
      [](const py::array& boxes, const py::array& scores, double iou_threshold) {
        return dispatch_nms("nms", boxes, scores, std::nullopt, iou_threshold);
      },
      py::arg("boxes"), py::arg("scores"), py::arg("iou_threshold"),
      "Greedy NMS (torchvision semantics); boxes (N, 4) float32/float64 x1, y1, x2, y2, scores "
      "(N,) float64. Returns kept indices, descending score.");
  m.def(
      "batched_nms",
      [](const py::array& boxes, const py::array& scores, const py::array& idxs,
         double iou_threshold) {
        return dispatch_nms("batched_nms", boxes, scores, idxs, iou_threshold);
      },
      py::arg("boxes"), py::arg("scores"), py::arg("idxs"), py::arg("iou_threshold"),
      "Per-category greedy NMS; idxs (N,) int64 categories. Returns kept indices, descending "
      "score.");
  m.def("nms_reduce_mask", &reduce_mask, py::arg("mask"), py::arg("n"),
        "Host reduction of the CUDA suppression mask (n x ceil(n/64) uint64, rows in score "
        "order) to the kept positions in that order.");
  m.def("nms_mask_words", &nms_mask_words, py::arg("n"),
        "Number of uint64 words of the CUDA suppression mask for n boxes.");

  py::module_ testing = m.attr("testing");
  testing.def("nms_mask_emulated", &mask_emulated, py::arg("boxes"), py::arg("scores"),
              py::arg("idxs"), py::arg("iou_threshold"), py::arg("order"), py::arg("seed") = 0,
              "CPU emulation of the CUDA NMS chain (sort, mask kernel in the given work-unit "
              "order, host reduction). Returns kept indices.");
  testing.def("nms_mask_launch_config", &launch_config, py::arg("n"),
              py::arg("max_blocks") = 65535, "Launch geometry and workspace of the mask kernel.");
}

}  // namespace cellrt::bind
