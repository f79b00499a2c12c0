// cellrt._core: the CPU kernels. Always built. Each op registers itself from <op>_bind.cpp.
#include <pybind11/pybind11.h>

#include "cellrt/kernels/common/parallel.h"

#if defined(CELLRT_WITH_OPENMP)
#include <omp.h>
#endif

namespace py = pybind11;

namespace cellrt::bind {
#define CELLRT_OP(name) void register_##name(py::module_& m);
#include "ops_list.inc"
#undef CELLRT_OP
}  // namespace cellrt::bind

namespace {

const char* simd_level() {
#if defined(__AVX512F__)
  return "AVX512";
#elif defined(__AVX2__)
  return "AVX2";
#elif defined(__AVX__)
  return "AVX";
#elif defined(__SSE4_2__)
  return "SSE4.2";
#elif defined(__SSE2__) || defined(_M_X64)
  return "SSE2";
#elif defined(__ARM_NEON)
  return "NEON";
#else
  return "scalar";
#endif
}

py::dict build_info() {
  py::dict d;
  d["compiler"] = CELLRT_COMPILER;
  d["cxx_standard"] = CELLRT_CXX_STANDARD;
  d["build_type"] = CELLRT_BUILD_TYPE;
  d["simd"] = simd_level();
  d["march"] = CELLRT_MARCH_FLAG;
  // How the CUDA option was set when this build was configured, and whether _cuda was built.
  d["cuda_setting"] = CELLRT_CUDA_SETTING;
  d["cuda_built"] = static_cast<bool>(CELLRT_CUDA_BUILT);
#if defined(CELLRT_WITH_OPENMP)
  d["openmp"] = true;
  d["openmp_version"] = _OPENMP;
#else
  d["openmp"] = false;
  d["openmp_version"] = py::none();
#endif
  return d;
}

void set_num_threads(int n) {
  if (n < 1) {
    throw std::invalid_argument("set_num_threads: n must be >= 1, got " + std::to_string(n));
  }
#if defined(CELLRT_WITH_OPENMP)
  omp_set_num_threads(n);
#endif
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "cellrt compiled CPU kernels";
  m.def("build_info", &build_info, "Compile-time facts of the CPU core.");
  m.def("get_num_threads", &cellrt::max_threads, "Threads the CPU kernels use (OpenMP).");
  m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the CPU kernels' thread count.");
  py::module_ testing = m.def_submodule(
      "testing", "CPU emulation of device-side step functions, for tests; not a public API.");
#define CELLRT_OP(name) cellrt::bind::register_##name(m);
#include "ops_list.inc"
#undef CELLRT_OP
}
