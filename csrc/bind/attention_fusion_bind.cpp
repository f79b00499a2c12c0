#include "checks.h"

namespace cellrt::bind {

void register_attention_fusion(py::module_& m) { (void)m; }

}  // namespace cellrt::bind
