"""`cellrt info`: build facts (version, compiler, OpenMP, SIMD, CUDA, GPU), usable backends and
the shipped models with what images they expect."""

from __future__ import annotations

import argparse
import json

from cellrt._backend import build_info
from cellrt.runtime.backends import backend_status
from cellrt.runtime.package import ModelPackage, shipped_models


def _models() -> dict:
    out = {}
    for name in shipped_models():
        c = ModelPackage.load(name).config
        scale = c.scale or {}
        out[name] = {**c.expects, "classes": list(c.class_names),
                     "pixel_size_um": scale.get("pixel_size")}
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="build facts (version, compiler, OpenMP, SIMD, CUDA, GPU) "
                                    "and usable backends")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = build_info()
    backends = backend_status()
    models = _models()
    if args.json:
        print(json.dumps({**info, "backends": backends, "models": models}, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    print("network backends:")
    for name, st in backends.items():
        state = ("usable: " + ", ".join(st["precisions"])) if st["usable"] else \
            f"not usable: {st['reason']}"
        print(f"  {name:<12} {state}")
    print("shipped models (what they expect):")
    for name, m in models.items():
        px = f", {m['pixel_size_um']} µm/px" if m.get("pixel_size_um") else ""
        print(f"  {name:<12} {m.get('modality', '?')}, {m.get('channels', '?')} channel(s), "
              f"nuclei of about {m.get('diameter', '?')} px{px}; classes: "
              f"{', '.join(m['classes'])}")
    return 0
