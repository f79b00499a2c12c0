"""PyTorch backend: the fallback that runs anywhere torch does (CPU or CUDA).

Runs the package's training-form weights, re-parameterised to the deploy form (the same graph the
ONNX file holds), eager, fp32, channels_last (the fastest plain-torch layout on CPU here).
"""

from __future__ import annotations

import io

import numpy as np

from cellrt.runtime.backends import BackendUnavailable
from cellrt.runtime.package import ModelPackage, PackageError


def probe() -> tuple[str, ...]:
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(f"torch is not importable ({exc}); "
                                 "pip install 'cellrt[train]'") from None
    return ("fp32",)


class TorchBackend:
    name = "torch"
    precision = "fp32"

    def __init__(self, package: ModelPackage, threads: int = 0, device: str = "cpu"):
        import torch

        from cellrt.models.deploy import DeployHead, deploy_model

        if package.weights is None:
            raise PackageError(f"model package {package.path}: no weights.pt, which the torch "
                               "backend needs")
        try:
            state = torch.load(io.BytesIO(package.weights), map_location="cpu",
                               weights_only=False)
            net = deploy_model(state)
        except Exception as exc:  # torch raises many types for a bad pickle / state dict
            raise PackageError(f"model package {package.path}: weights.pt cannot be loaded "
                               f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
        if threads:
            torch.set_num_threads(threads)  # process-wide: torch has no per-module thread pool
        self.torch = torch
        self.device = torch.device(device)
        self.head = DeployHead(net).eval().to(self.device, memory_format=torch.channels_last)
        self.output_names = list(package.config.outputs)

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        x = x.to(self.device).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            outs = self.head(x)
        return {n: o.float().cpu().contiguous().numpy() for n, o in zip(self.output_names, outs)}
