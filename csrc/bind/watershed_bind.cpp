#include "checks.h"

namespace cellrt::bind {

void register_watershed(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
