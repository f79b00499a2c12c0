"""`cellrt info`: build facts (version, compiler, OpenMP, SIMD, CUDA, GPU) and usable backends."""

from __future__ import annotations

import argparse
import json

from cellrt._backend import build_info
from cellrt.runtime.backends import backend_status


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="build facts (version, compiler, OpenMP, SIMD, CUDA, GPU) "
                                    "and usable backends")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    info = build_info()
    backends = backend_status()
    if args.json:
        print(json.dumps({**info, "backends": backends}, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    print("network backends:")
    for name, st in backends.items():
        state = ("usable: " + ", ".join(st["precisions"])) if st["usable"] else \
            f"not usable: {st['reason']}"
        print(f"  {name:<12} {state}")
    return 0
