# The single list of ops. Each op NAME has, by convention:
#   kernels/include/cellrt/kernels/NAME/  element functions and host API
#   kernels/cpu/NAME_cpu.cpp              CPU driver
#   kernels/cuda/NAME_cuda.cu             CUDA launchers
#   csrc/bind/NAME_bind.cpp               register_NAME(py::module_&) for cellrt._core
#   csrc/bind/NAME_cuda_bind.cpp          register_NAME_cuda(py::module_&) for cellrt._cuda
# Explicit list (no globbing) so a new file is never silently missed or picked up.
set(CELLRT_OPS
  nms
  roi_align
  label
  watershed
  attention_fusion
  paste_masks
  regionprops
  boundary_votes
)

function(cellrt_op_sources out_var pattern)
  set(files)
  foreach(op IN LISTS CELLRT_OPS)
    string(REPLACE "@OP@" "${op}" f "${pattern}")
    list(APPEND files "${f}")
  endforeach()
  set(${out_var} "${files}" PARENT_SCOPE)
endfunction()
