// cellrt._core.watershed (CPU priority flood) and cellrt._core.testing.watershed_emulate (the GPU
// steps run on the CPU in a chosen pixel order). The Python wrapper (cellrt/ops/watershed.py)
// normalises dtypes and documents the semantics; these functions re-check what memory safety
// depends on.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <optional>
#include <random>
#include <string>

#include <pybind11/stl.h>

#include "checks.h"
#include "cellrt/kernels/watershed/watershed.h"

namespace cellrt::bind {
namespace {

constexpr const char* kOp = "watershed";

void check_same_shape(const py::array& image, const py::array& other, const char* arg) {
  CELLRT_CHECK(other.ndim() == 2 && other.shape(0) == image.shape(0) &&
                   other.shape(1) == image.shape(1),
               kOp, ": ", arg, " must have the image's shape ", shape_str(image), ", got ",
               shape_str(other));
}

WatershedParams make_params(const py::array& image, int connectivity) {
  CELLRT_CHECK(image.ndim() == 2, kOp, ": image must be 2-D (H, W), got shape ", shape_str(image));
  CELLRT_CHECK(connectivity == 1 || connectivity == 2, kOp,
               ": connectivity must be 1 (4-neighbour) or 2 (8-neighbour), got ", connectivity);
  return WatershedParams{image.shape(0), image.shape(1), connectivity};
}

template <typename T>
py::array_t<int32_t> run_flood(const carray<T>& image, const carray<int32_t>& markers,
                               const std::optional<carray<bool>>& mask, int connectivity) {
  const WatershedParams p = make_params(image, connectivity);
  check_same_shape(image, markers, "markers");
  if (mask) check_same_shape(image, *mask, "mask");
  py::array_t<int32_t> out({p.height, p.width});
  if (p.height * p.width == 0) return out;
  const T* img = image.data();
  const int32_t* mk = markers.data();
  // bool arrays are one byte of 0/1: read them as uint8.
  const uint8_t* m = mask ? reinterpret_cast<const uint8_t*>(mask->data()) : nullptr;
  int32_t* o = out.mutable_data();
  Status s;
  {
    py::gil_scoped_release release;
    s = watershed_cpu<T>(p, img, mk, m, o);
  }
  CELLRT_CHECK(s != Status::kInvalidArgument, kOp,
               ": image contains NaN inside the mask; NaN has no place in the flooding order "
               "(replace it, e.g. with numpy.nan_to_num, or exclude it with the mask)");
  throw_if_error(kOp, s);
  return out;
}

py::tuple emulate(const carray<uint32_t>& levels, const carray<int32_t>& markers,
                  const std::optional<carray<bool>>& mask, int connectivity,
                  const std::string& order, uint64_t seed) {
  const char* op = "watershed_emulate";
  const WatershedParams p = make_params(levels, connectivity);
  check_same_shape(levels, markers, "markers");
  if (mask) check_same_shape(levels, *mask, "mask");
  const int64_t n = p.height * p.width;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  if (order == "reversed") {
    std::reverse(perm.begin(), perm.end());
  } else if (order == "shuffled") {
    std::mt19937_64 rng(seed);
    std::shuffle(perm.begin(), perm.end(), rng);
  } else {
    CELLRT_CHECK(order == "forward", op,
                 ": order must be 'forward', 'reversed' or 'shuffled', got '", order, "'");
  }
  py::array_t<int32_t> out({p.height, p.width});
  py::array_t<uint64_t> state({p.height, p.width});
  py::array_t<int64_t> parent({p.height, p.width});
  if (n == 0) return py::make_tuple(out, state, parent);
  const uint8_t* m = mask ? reinterpret_cast<const uint8_t*>(mask->data()) : nullptr;
  Status s;
  {
    py::gil_scoped_release release;
    // NumPy's uint64 is unsigned long here; the state type is the same 64 bits spelled
    // unsigned long long (CUDA's atomicMin overload).
    static_assert(sizeof(uint64_t) == sizeof(WatershedState));
    s = watershed_emulate_cpu(p, levels.data(), markers.data(), m, perm.data(),
                              reinterpret_cast<WatershedState*>(state.mutable_data()),
                              parent.mutable_data(), out.mutable_data());
  }
  throw_if_error(op, s);
  return py::make_tuple(out, state, parent);
}

// dtype dispatch: the Python wrapper has already converted the image to one of these.
py::array_t<int32_t> flood(const py::array& image, const carray<int32_t>& markers,
                           const std::optional<carray<bool>>& mask, int connectivity) {
  if (py::isinstance<py::array_t<uint8_t>>(image)) {
    return run_flood<uint8_t>(image.cast<carray<uint8_t>>(), markers, mask, connectivity);
  }
  if (py::isinstance<py::array_t<uint16_t>>(image)) {
    return run_flood<uint16_t>(image.cast<carray<uint16_t>>(), markers, mask, connectivity);
  }
  if (py::isinstance<py::array_t<float>>(image)) {
    return run_flood<float>(image.cast<carray<float>>(), markers, mask, connectivity);
  }
  if (py::isinstance<py::array_t<double>>(image)) {
    return run_flood<double>(image.cast<carray<double>>(), markers, mask, connectivity);
  }
  throw py::type_error(concat(kOp, ": image must be uint8, uint16, float32 or float64, got ",
                              py::str(image.dtype()).cast<std::string>()));
}

}  // namespace

void register_watershed(py::module_& m) {
  m.def("watershed", &flood, py::arg("image"), py::arg("markers"), py::arg("mask"),
        py::arg("connectivity"),
        "Marker-controlled watershed of a 2-D image (priority flood, scikit-image order); image "
        "uint8/uint16/float32/float64 (H, W), markers int32 (H, W), mask bool (H, W) or None. "
        "Returns int32 labels. See cellrt.ops.watershed.");
  py::module_ testing = m.attr("testing").cast<py::module_>();
  testing.def("watershed_emulate", &emulate, py::arg("levels"), py::arg("markers"),
              py::arg("mask"), py::arg("connectivity"), py::arg("order"), py::arg("seed") = 0,
              "Run the GPU watershed steps on the CPU, visiting pixels in 'forward', 'reversed' "
              "or 'shuffled' order. Returns (labels int32, state uint64, parent int64).");
}

}  // namespace cellrt::bind
