#include "cuda_args.h"

namespace cellrt::bind {

void register_regionprops_cuda(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
