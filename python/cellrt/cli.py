"""The `cellrt` command line. Every subcommand prints one clear line and exits non-zero on a user
error; tracebacks are for bugs only."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_info(args: argparse.Namespace) -> int:
    from cellrt import build_info

    from cellrt.runtime.backends import backend_status

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cellrt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="build facts (version, compiler, OpenMP, SIMD, CUDA, GPU) and usable backends")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=_cmd_info)
    from cellrt.pipeline.cli import add_parsers as add_segment
    from cellrt.train.cli import add_parser as add_train

    add_segment(sub)
    from cellrt.pipeline.evaluate import add_parser as add_eval

    add_eval(sub)
    add_train(sub)
    from cellrt.export.cli import add_parser as add_export
    from cellrt.runtime.bench import add_parser as add_bench

    add_export(sub)
    add_bench(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"cellrt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
