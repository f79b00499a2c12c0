"""The `cellrt` command line: one module per command, the only code in cellrt that parses
arguments or prints for a person. Every command prints one clear line and exits non-zero on a
user error; tracebacks are for bugs only."""

from __future__ import annotations

import argparse
import sys

from cellrt import __version__
from cellrt.cli import bench, demo, evaluate, export, info, segment, train

COMMANDS = (segment, demo, evaluate, train, export, bench, info)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cellrt", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cellrt {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    for p in sub.choices.values():
        p.formatter_class = _DefaultsHelp
    return parser


class _DefaultsHelp(argparse.HelpFormatter):
    """Every option's --help line ends with its default, unless it says it already (or the
    option is a flag, or has no default)."""

    def _get_help_string(self, action):
        text = action.help or ""
        flag = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if flag or "default" in text or action.default in (None, argparse.SUPPRESS) \
                or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"cellrt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
