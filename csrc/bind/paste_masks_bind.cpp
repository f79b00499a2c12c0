#include "checks.h"

namespace cellrt::bind {

void register_paste_masks(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
