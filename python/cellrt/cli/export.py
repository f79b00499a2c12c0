"""`cellrt export`: write a model package (deploy-graph ONNX + weights + config) from a shipped
model, a package file or a training checkpoint, then check it: ONNX Runtime vs torch eager on
the shipped example images (the same deploy module in fp32, and the trained network in fp64),
max abs differences printed (each must be < 1e-3)."""

from __future__ import annotations

import argparse
from pathlib import Path

TOLERANCE = 1e-3


def add_parser(sub) -> None:
    p = sub.add_parser("export",
                       help="write a model package (ONNX + weights + config); needs torch")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="shipped model name or .cellrt file to re-export")
    src.add_argument("--checkpoint", help="training checkpoint (last.pt) to package")
    p.add_argument("-o", "--output", required=True, help="package file to write (.cellrt)")
    p.add_argument("--name", help="model name (with --checkpoint; default: the file's stem)")
    p.add_argument("--class-names", nargs="+", default=None, help="with --checkpoint")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ValueError("export needs PyTorch: pip install 'cellrt[train]'") from None
    from cellrt.export.package import export_differences, package_from_checkpoint, reexport_package
    from cellrt.families.boundary.postprocess import PostprocessParams
    from cellrt.io.examples import example_images
    from cellrt.runtime.package import SUFFIX, ModelPackage

    out = Path(args.output)
    if out.suffix != SUFFIX:
        raise ValueError(f"export: output must end in {SUFFIX}, got {out.name}")
    if args.model:
        reexport_package(ModelPackage.load(args.model), out)
    else:
        ckpt = Path(args.checkpoint)
        if not ckpt.is_file():
            raise ValueError(f"export: checkpoint {ckpt} does not exist")
        package_from_checkpoint(ckpt, out, name=args.name or out.stem,
                                postprocess=PostprocessParams().to_dict(),
                                class_names=args.class_names or ["nucleus"],
                                card={"source_checkpoint": str(ckpt)})
    pkg = ModelPackage.load(out)
    diffs = export_differences(pkg, [img for img, _ in example_images()])
    print(f"export: wrote {out} ({out.stat().st_size / 1e6:.2f} MB); on the shipped examples, "
          f"max |ONNX Runtime - trained network in float64| = {diffs['exact_fp64']:.2e}; "
          f"max |ONNX Runtime - torch eager| = {diffs['eager_fp32']:.2e}")
    bad = {k: v for k, v in diffs.items() if v >= TOLERANCE}
    if bad:
        out.unlink()
        raise ValueError(f"export: the ONNX graph differs from torch by {bad} (>= {TOLERANCE}); "
                         "package removed")
    return 0
