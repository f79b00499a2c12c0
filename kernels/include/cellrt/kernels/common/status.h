// Kernels never throw: host APIs and CUDA launchers return a Status, the binding layer turns a
// non-OK status into a Python exception.
#pragma once

namespace cellrt {

enum class Status {
  kOk = 0,
  kInvalidArgument,
  kOutOfMemory,
  kCudaError,
  kNotCompiled,
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kInvalidArgument: return "invalid argument";
    case Status::kOutOfMemory: return "out of memory";
    case Status::kCudaError: return "CUDA error";
    case Status::kNotCompiled: return "not compiled with this feature";
  }
  return "unknown status";
}

}  // namespace cellrt
