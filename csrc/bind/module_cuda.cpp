// cellrt._cuda: CUDA launchers. Built only when nvcc was found at build time; the CUDA runtime is
// linked statically so this module imports on machines without a GPU or driver, and
// device_count() / device_status() say why nothing can run.
#include <string>

#include <cuda_runtime.h>
#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace cellrt::bind {
#define CELLRT_OP(name) void register_##name##_cuda(py::module_& m);
#include "ops_list.inc"
#undef CELLRT_OP
}  // namespace cellrt::bind

namespace {

// (count, reason): reason is "" when at least one device is usable.
py::tuple device_status() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls report their own
    return py::make_tuple(0, std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(e) +
                                 ": " + cudaGetErrorString(e));
  }
  if (n == 0) return py::make_tuple(0, std::string("no CUDA device found"));
  return py::make_tuple(n, std::string());
}

py::dict build_info() {
  py::dict d;
  d["cuda_compiler_version"] = CELLRT_CUDA_COMPILER_VERSION;
  d["cuda_runtime_version"] = CUDART_VERSION;
  d["cuda_architectures"] = CELLRT_CUDA_ARCHITECTURES;
  int driver = 0;
  d["cuda_driver_version"] = cudaDriverGetVersion(&driver) == cudaSuccess ? driver : 0;
  return d;
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "cellrt compiled CUDA kernels";
  m.def("build_info", &build_info, "Compile-time facts of the CUDA module.");
  m.def("device_status", &device_status, "(device_count, reason_if_none_usable)");
  m.def("device_count", []() { return device_status()[0].cast<int>(); },
        "Number of usable CUDA devices (0 without a driver or GPU).");
#define CELLRT_OP(name) cellrt::bind::register_##name##_cuda(m);
#include "ops_list.inc"
#undef CELLRT_OP
}
