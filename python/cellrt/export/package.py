"""Checkpoint -> model package: fold the re-parameterisable branches, export the deploy graph to
ONNX with dynamic batch/height/width, and write config + ONNX + training weights in one file."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from cellrt.models import RepSNet, RepSNetConfig
from cellrt.models.deploy import DeployHead, deploy_model, receptive_radius
from cellrt.runtime.package import ModelPackage, PackageError, write_package

OPSET = 17


def export_onnx(net: RepSNet) -> bytes:
    head = DeployHead(net).eval()
    names = ["fg_prob", "dist"] + (["type_prob"] if net.config.num_classes else [])
    x = torch.zeros(1, net.config.in_channels, 64, 64)
    axes = {"image": {0: "batch", 2: "height", 3: "width"}}
    axes.update({n: {0: "batch", 2: "height", 3: "width"} for n in names})
    buf = io.BytesIO()
    # The TorchScript exporter is chosen on purpose (a plain conv graph with dynamic H and W,
    # no onnxscript dependency); torch >= 2.9 raises DeprecationWarnings about it and its
    # internals on every call. Only this call's are silenced.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(head, (x,), buf, input_names=["image"], output_names=names,
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    return buf.getvalue()


def package_from_checkpoint(ckpt_path: str | Path, out: str | Path, *, name: str,
                            postprocess: dict, class_names: list[str], card: dict,
                            object_halo: int = 96, tile: int = 1024) -> Path:
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    net = deploy_model(ckpt)
    cfg = net.config
    align = cfg.downsample
    context = -(-(receptive_radius(cfg) + align) // align) * align
    weights = io.BytesIO()
    torch.save({"model": ckpt["model"], "model_config": ckpt["model_config"]}, weights)
    config = {
        "name": name,
        "family": "repsnet",
        "in_channels": cfg.in_channels,
        "normalization": {"kind": "percentile", "percentiles": [1.0, 99.8], "scope": "image"},
        "align": align,
        "context": context,
        "object_halo": object_halo,
        "tile": tile,
        "outputs": ["fg_prob", "dist"] + (["type_prob"] if cfg.num_classes else []),
        "model_config": cfg.to_dict(),
        "postprocess": postprocess,
        "class_names": class_names,
        "card": card,
    }
    return write_package(out, config, export_onnx(net), weights.getvalue())


def reexport_package(package: ModelPackage, out: str | Path) -> Path:
    """Rebuild a package's deploy graph from its training-form weights (same config): what
    `cellrt export --model NAME` does, e.g. after a change of exporter or opset."""
    if package.weights is None:
        raise PackageError(f"model package {package.path}: no weights.pt to export from")
    state = torch.load(io.BytesIO(package.weights), map_location="cpu", weights_only=False)
    return write_package(out, package.config, export_onnx(deploy_model(state)), package.weights)


def export_differences(package: ModelPackage, images: list, backend=None) -> dict[str, float]:
    """Largest absolute differences over all outputs on `images` between the package's ONNX
    graph run by `backend` (default ONNX Runtime) and torch eager:
      "eager_fp32":   the same deploy module (re-parameterised) in float32 — the export check;
      "exact_fp64":   the training-form network (un-folded branches, BN) in float64 — how far
                      the deployed fp32 graph is from the trained network's exact output.
    (fp32 eager of the training form sits ~as far from fp64 on the other side, so fp32 vs fp32
    across the two forms differs by twice that: accumulation order, not an export error.)"""
    from cellrt.engine.segment import fill_input, prepare
    from cellrt.families import bind
    from cellrt.runtime.onnx_backend import OnnxRuntimeBackend

    state = torch.load(io.BytesIO(package.weights), map_location="cpu", weights_only=False)
    exact = RepSNet(RepSNetConfig(**state["model_config"]))
    exact.load_state_dict(state["model"])
    exact = DeployHead(exact.double().eval())
    deployed = DeployHead(deploy_model(state)).eval()
    backend = backend or OnnxRuntimeBackend(package)
    family = bind(package.config)
    worst = {"eager_fp32": 0.0, "exact_fp64": 0.0}
    for image in images:
        prep = prepare(image, family, tile_size=0)
        x = np.zeros((1, prep.norm.shape[2], *prep.plan.net_shape(prep.tiles[0])), np.float32)
        fill_input(x[0], prep, prep.tiles[0])
        got = backend.run(x)
        with torch.no_grad():
            refs = {"eager_fp32": deployed(torch.from_numpy(x)),
                    "exact_fp64": exact(torch.from_numpy(x).double())}
        for key, outs in refs.items():
            for name, t in zip(package.config.outputs, outs):
                diff = float(np.abs(got[name].astype(np.float64) - t.double().numpy()).max())
                worst[key] = max(worst[key], diff)
    return worst
