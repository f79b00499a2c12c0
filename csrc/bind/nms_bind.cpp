#include "checks.h"

namespace cellrt::bind {

void register_nms(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
