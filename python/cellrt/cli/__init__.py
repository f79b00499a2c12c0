"""The `cellrt` command line: one module per command, the only code in cellrt that parses
arguments or prints for a person. Every command prints one clear line and exits non-zero on a
user error; tracebacks are for bugs only."""

from __future__ import annotations

import argparse
import sys

from cellrt.cli import bench, demo, evaluate, export, info, segment, train

COMMANDS = (segment, demo, evaluate, train, export, bench, info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cellrt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
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
