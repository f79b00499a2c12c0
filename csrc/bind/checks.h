// Argument checks for the binding layer. User errors throw std::invalid_argument, which pybind11
// turns into ValueError; messages name the op, the argument, what was expected and what came.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "cellrt/kernels/common/status.h"

namespace cellrt::bind {

namespace py = pybind11;

#define CELLRT_CHECK(cond, ...)                                         \
  do {                                                                  \
    if (!(cond)) {                                                      \
      throw std::invalid_argument(::cellrt::bind::concat(__VA_ARGS__)); \
    }                                                                   \
  } while (0)

template <typename... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

inline std::string shape_str(const py::array& a) {
  std::ostringstream os;
  os << "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    os << (i ? ", " : "") << a.shape(i);
  }
  os << (a.ndim() == 1 ? ",)" : ")");
  return os.str();
}

// Checks ndim and (where the expected extent is >= 0) each dimension, e.g.
// check_shape("nms", "boxes", boxes, {-1, 4}) -> "nms: boxes must have shape (N, 4), got (3, 5)".
inline void check_shape(const char* op, const char* arg, const py::array& a,
                        std::initializer_list<py::ssize_t> expected, const char* spelled) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(expected.size());
  py::ssize_t i = 0;
  for (auto e : expected) {
    if (ok && e >= 0 && a.shape(i) != e) ok = false;
    ++i;
  }
  CELLRT_CHECK(ok, op, ": ", arg, " must have shape ", spelled, ", got ", shape_str(a));
}

// Internal failures (a kernel status that user validation should have prevented) are RuntimeError.
inline void throw_if_error(const char* op, Status s) {
  if (s == Status::kInvalidArgument) {
    throw std::invalid_argument(concat(op, ": ", to_string(s)));
  }
  if (s != Status::kOk) {
    throw std::runtime_error(concat(op, ": ", to_string(s)));
  }
}

// C-contiguous input arrays of T: the Python wrappers already normalised dtype and layout, so
// forcecast here only ever is a no-op (it keeps direct calls of _core safe).
template <typename T>
using carray = py::array_t<T, py::array::c_style | py::array::forcecast>;

// The CPU emulations of GPU element runs take a visiting order; it must visit each of the n
// elements exactly once, or the emulation would read out of bounds or skip work.
inline void check_permutation(const char* op, const carray<int64_t>& order, int64_t n) {
  CELLRT_CHECK(order.ndim() == 1 && order.shape(0) == n, op, ": order must have shape (", n,
               ",), got ", shape_str(order));
  std::vector<uint8_t> seen(static_cast<size_t>(n), 0);
  const int64_t* o = order.data();
  for (int64_t k = 0; k < n; ++k) {
    CELLRT_CHECK(o[k] >= 0 && o[k] < n && !seen[o[k]], op,
                 ": order must be a permutation of 0..", n - 1, ", got ", o[k], " at ", k);
    seen[o[k]] = 1;
  }
}

}  // namespace cellrt::bind
