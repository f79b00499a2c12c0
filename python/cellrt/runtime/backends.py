"""Network backends behind one interface.

A backend runs a model package's deploy graph: `run(batch)` takes a normalised (N, C, H, W)
float32 array (H, W multiples of the package's `align`) and returns {output name: float32 array}
with the outputs listed in the package config ("fg_prob", "dist", optionally "type_prob").
`run` must be safe to call from several threads at once.

    name        precisions          needs
    onnxruntime fp32                the lean install (always there)
    openvino    fp32, bf16          `pip install 'cellrt[openvino]'`; bf16 where the CPU has it
    torch       fp32                `pip install 'cellrt[train]'`; eager, channels_last, any device
    tensorrt    fp32, fp16          TensorRT + an NVIDIA GPU

`backend="auto"` is resolved by cellrt.engine.auto (measured, not guessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from cellrt.runtime.package import ModelPackage

NAMES = ("onnxruntime", "openvino", "torch", "tensorrt")
PRECISIONS = ("fp32", "bf16", "fp16")


class BackendUnavailable(ValueError):
    """The requested backend (or precision) cannot run here; the message says why."""


class Backend(Protocol):
    name: str
    precision: str

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class BackendSpec:
    name: str
    # Precisions this backend can offer here, or raises BackendUnavailable naming the reason.
    probe: Callable[[], tuple[str, ...]]
    # (package, precision=, threads=, device=, profile=) -> Backend; `profile` is the (min, opt,
    # max) input shapes the caller's tile plan produces (backends that compile for shapes use it).
    factory: Callable[..., Backend]


def _probe_onnxruntime() -> tuple[str, ...]:
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime is not importable ({exc})") from None
    return ("fp32",)


def _make_onnxruntime(package, precision="fp32", threads=0, device=None, profile=None):
    from cellrt.runtime.onnx_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(package, threads=threads)


def _probe_openvino():
    from cellrt.runtime.openvino_backend import probe

    return probe()


def _make_openvino(package, precision="fp32", threads=0, device=None, profile=None):
    from cellrt.runtime.openvino_backend import OpenVinoBackend

    return OpenVinoBackend(package, precision=precision, threads=threads)


def _probe_torch():
    from cellrt.runtime.torch_backend import probe

    return probe()


def _make_torch(package, precision="fp32", threads=0, device=None, profile=None):
    from cellrt.runtime.torch_backend import TorchBackend

    return TorchBackend(package, threads=threads, device=device or "cpu")


def _probe_tensorrt():
    from cellrt.runtime.tensorrt import probe

    return probe()


def _make_tensorrt(package, precision="fp32", threads=0, device=None, profile=None):
    from cellrt.runtime.tensorrt import TensorRTBackend

    return TensorRTBackend(package, precision=precision, device=device, profile=profile)


REGISTRY: dict[str, BackendSpec] = {
    "onnxruntime": BackendSpec("onnxruntime", _probe_onnxruntime, _make_onnxruntime),
    "openvino": BackendSpec("openvino", _probe_openvino, _make_openvino),
    "torch": BackendSpec("torch", _probe_torch, _make_torch),
    "tensorrt": BackendSpec("tensorrt", _probe_tensorrt, _make_tensorrt),
}


def backend_status() -> dict[str, dict]:
    """{backend: {"usable": bool, "precisions": [...], "reason": str | None}} for `cellrt info`."""
    status = {}
    for name, spec in REGISTRY.items():
        try:
            status[name] = {"usable": True, "precisions": list(spec.probe()), "reason": None}
        except BackendUnavailable as exc:
            status[name] = {"usable": False, "precisions": [], "reason": str(exc)}
    return status


def create_backend(package: ModelPackage, backend: str = "onnxruntime", precision: str = "fp32",
                   threads: int = 0, device: str | None = None, profile=None) -> Backend:
    """An explicitly named backend at an explicit precision (no "auto" here: cellrt.engine.auto
    measures). `profile`: the (min, opt, max) (N, C, H, W) input shapes the caller will send
    (cellrt.engine.tiling.input_profile); backends that compile for shapes (TensorRT) use it."""
    if backend not in REGISTRY:
        raise ValueError(f"backend must be one of {('auto',) + NAMES}, got {backend!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {('auto',) + PRECISIONS}, got {precision!r}")
    spec = REGISTRY[backend]
    offered = spec.probe()
    if precision not in offered:
        raise BackendUnavailable(f"backend {backend!r} offers {', '.join(offered)} here, "
                                 f"not {precision}")
    return spec.factory(package, precision=precision, threads=threads, device=device,
                        profile=profile)
