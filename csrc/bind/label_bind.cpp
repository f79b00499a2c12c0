#include "checks.h"

namespace cellrt::bind {

void register_label(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
