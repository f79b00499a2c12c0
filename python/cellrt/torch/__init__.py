"""torch.library custom ops over the compiled kernels, so models train and export through them.

Importing this module imports torch; the core package never does.
"""

from cellrt.torch import attention_fusion, nms, roi_align  # noqa: F401  (registers the ops)
