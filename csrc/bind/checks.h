// Argument checks for the binding layer. User errors throw std::invalid_argument, which pybind11
// turns into ValueError; messages name the op, the argument, what was expected and what came.
#pragma once

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

}  // namespace cellrt::bind
