#include "checks.h"

namespace cellrt::bind {

void register_roi_align(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
