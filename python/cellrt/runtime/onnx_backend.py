"""ONNX Runtime backend: the portable CPU backend of the lean install (no torch)."""

from __future__ import annotations

import numpy as np

from cellrt.runtime.package import ModelPackage, PackageError


class OnnxRuntimeBackend:
    name = "onnxruntime"
    precision = "fp32"

    def __init__(self, package: ModelPackage, threads: int = 0):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # 0: ONNX Runtime's default (all cores)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(package.onnx_bytes, opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for bad graphs
            raise PackageError(f"model package {package.path}: model.onnx cannot be loaded "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(N, C, H, W) float32 -> {output name: (N, ., H, W) float32}."""
        outs = self.session.run(None, {self.input_name: np.ascontiguousarray(batch, np.float32)})
        return dict(zip(self.output_names, outs))
