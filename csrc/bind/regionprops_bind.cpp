#include "checks.h"

namespace cellrt::bind {

void register_regionprops(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
