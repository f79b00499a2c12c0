// cellrt._core bindings of boundary_votes, and _core.testing.boundary_votes_emulate (the GPU's
// atomic element run over pixels in a given order). python/cellrt/ops/boundary_votes.py
// normalises dtypes (float32 distances, uint8 mask).
#include <cstdint>
#include <optional>
#include <vector>

#include "checks.h"
#include "cellrt/kernels/boundary_votes/boundary_votes.h"

namespace cellrt::bind {
namespace {

constexpr const char* kOp = "boundary_votes";

struct Inputs {
  carray<float> dist;
  std::optional<carray<uint8_t>> mask;
  BoundaryVotesParams p;

  const uint8_t* mask_ptr() const { return mask ? mask->data() : nullptr; }
};

Inputs validate(const carray<float>& dist, const py::object& mask) {
  Inputs in{dist, std::nullopt, {}};
  CELLRT_CHECK(dist.ndim() == 3 && dist.shape(0) == 4, kOp,
               ": dist must have shape (4, H, W), got ", shape_str(dist));
  in.p.height = dist.shape(1);
  in.p.width = dist.shape(2);
  CELLRT_CHECK(in.p.height * in.p.width < (int64_t{1} << 31), kOp,
               ": images must have fewer than 2^31 pixels (int32 vote counts), got ",
               in.p.height * in.p.width);
  if (!mask.is_none()) {
    auto m = py::cast<carray<uint8_t>>(mask);
    CELLRT_CHECK(m.ndim() == 2 && m.shape(0) == in.p.height && m.shape(1) == in.p.width, kOp,
                 ": mask must have shape (", in.p.height, ", ", in.p.width, "), got ",
                 shape_str(m));
    in.mask = m;
  }
  return in;
}

py::array_t<int32_t> boundary_votes_py(const carray<float>& dist, const py::object& mask) {
  const Inputs in = validate(dist, mask);
  py::array_t<int32_t> votes({in.p.height, in.p.width});
  if (in.p.height * in.p.width == 0) return votes;
  Status s;
  {
    py::gil_scoped_release release;
    s = boundary_votes_cpu(in.p, in.dist.data(), in.mask_ptr(), votes.mutable_data());
  }
  throw_if_error(kOp, s);
  return votes;
}

py::array_t<int32_t> boundary_votes_emulate_py(const carray<float>& dist, const py::object& mask,
                                               const carray<int64_t>& order) {
  const Inputs in = validate(dist, mask);
  const int64_t n = in.p.height * in.p.width;
  check_permutation("testing.boundary_votes_emulate", order, n);
  py::array_t<int32_t> votes({in.p.height, in.p.width});
  Status s;
  {
    py::gil_scoped_release release;
    s = boundary_votes_emulate_device_cpu(in.p, in.dist.data(), in.mask_ptr(), order.data(),
                                          votes.mutable_data());
  }
  throw_if_error(kOp, s);
  return votes;
}

}  // namespace

void register_boundary_votes(py::module_& m) {
  m.def("boundary_votes", &boundary_votes_py, py::arg("dist"), py::arg("mask") = py::none(),
        "int32 (H, W) count of centre votes from float32 (4, H, W) boundary distances.");
  py::module_ t = m.attr("testing").cast<py::module_>();
  t.def("boundary_votes_emulate", &boundary_votes_emulate_py, py::arg("dist"),
        py::arg("mask") = py::none(), py::arg("order"),
        "boundary_votes with the GPU's atomic element run over pixels in `order`.");
}

}  // namespace cellrt::bind
