"""The TensorRT backend, in parts:

    onnx_ops      which ONNX operators TensorRT 10 imports; a scan of a graph for the others
    profiles      optimisation profiles (min, opt, max input shapes): cover, grow
    engine_cache  cache key, paths, load-or-build policy
    device_io     what the machine offers (TensorRT, GPU) and moving tensors (torch, cuda-python)
    backend       TensorRTBackend: engines, per-thread execution contexts, run()
"""

from cellrt.runtime.tensorrt.backend import TENSORRT_PRECISIONS, TensorRTBackend, check_batch
from cellrt.runtime.tensorrt.device_io import (gpu_unavailable_reason, io_path, parse_device,
                                               probe)
from cellrt.runtime.tensorrt.engine_cache import (default_cache_dir, engine_key, engine_path,
                                                  load_or_build, timing_cache_path)
from cellrt.runtime.tensorrt.onnx_ops import TENSORRT10_ONNX_OPS, unsupported_onnx_ops
from cellrt.runtime.tensorrt.profiles import (GROW_STEP, Profile, Shape, covers, grow_profile,
                                              single_image)

__all__ = ["GROW_STEP", "Profile", "Shape", "TENSORRT10_ONNX_OPS", "TENSORRT_PRECISIONS",
           "TensorRTBackend", "check_batch", "covers", "default_cache_dir", "engine_key",
           "engine_path", "gpu_unavailable_reason", "grow_profile", "io_path", "load_or_build",
           "parse_device", "probe", "single_image", "timing_cache_path", "unsupported_onnx_ops"]
