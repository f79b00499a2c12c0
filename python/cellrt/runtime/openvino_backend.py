"""OpenVINO backend (optional extra `cellrt[openvino]`): the same ONNX file, fp32 or bf16.

bf16 runs the convolutions on the CPU's bf16 units (AVX512-BF16 / AMX) at about twice the fp32
speed; it is offered only where OpenVINO reports BF16 support, and `backend="auto"` uses it only
after checking its instances against fp32's (cellrt.engine.auto).
"""

from __future__ import annotations

import queue

import numpy as np

from cellrt.runtime.backends import BackendUnavailable
from cellrt.runtime.package import ModelPackage, PackageError

_HINTS = {"fp32": "f32", "bf16": "bf16"}


def _core():
    try:
        import openvino as ov
    except ImportError as exc:
        raise BackendUnavailable(f"openvino is not importable ({exc}); "
                                 "pip install 'cellrt[openvino]'") from None
    return ov, ov.Core()


def probe() -> tuple[str, ...]:
    ov, core = _core()
    if "CPU" not in core.available_devices:
        raise BackendUnavailable("openvino sees no CPU device")
    caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return ("fp32", "bf16") if "BF16" in caps else ("fp32",)


class OpenVinoBackend:
    name = "openvino"

    def __init__(self, package: ModelPackage, precision: str = "fp32", threads: int = 0):
        if precision not in _HINTS:
            raise BackendUnavailable(f"openvino: precision must be fp32 or bf16, got {precision}")
        ov, core = _core()
        config = {"INFERENCE_PRECISION_HINT": _HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            model = core.read_model(package.onnx_bytes)
            self.compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses for bad graphs
            # OpenVINO's first line names its own source file; the last says what is wrong.
            msg = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            raise PackageError(f"model package {package.path}: model.onnx cannot be loaded by "
                               f"OpenVINO ({msg[-1] if msg else type(exc).__name__})") from None
        self.precision = precision
        self.output_names = [o.get_any_name() for o in self.compiled.outputs]
        # An infer request is not thread-safe; a pool of them is. Requests keep their buffers,
        # so repeated calls with the same shape allocate nothing new inside OpenVINO.
        self._requests: queue.SimpleQueue = queue.SimpleQueue()

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        try:
            req = self._requests.get_nowait()
        except queue.Empty:
            req = self.compiled.create_infer_request()
        try:
            # share_outputs=False: results are copies, safe after the request goes back to the pool
            res = req.infer({0: np.ascontiguousarray(batch, np.float32)}, share_outputs=False)
            return {n: res[i] for n, i in zip(self.output_names, range(len(self.output_names)))}
        finally:
            self._requests.put(req)
