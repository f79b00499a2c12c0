"""`cellrt eval --model NAME --data DIR --split test [--json PATH]`: score a model on a data set
split (cellrt.calibrate.evaluate) and print the report."""

from __future__ import annotations

import argparse

from cellrt.calibrate.evaluate import evaluate, report_lines
from cellrt.cli.options import add_backend_argument, add_upscale_argument
from cellrt.io.atomic import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="score a model on a dataset split (AP, PQ, AJI, mPQ)")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    p.add_argument("--data", required=True, help="dataset folder (images/, labels/, split.json)")
    p.add_argument("--split", default="test")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    p.add_argument("--tile-size", type=int, default=None)
    p.add_argument("--threads", type=int, default=0)
    add_upscale_argument(p)
    add_backend_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rep = evaluate(args.model, args.data, args.split, args.tile_size, args.threads, args.backend,
                   args.upscale, args.flips)
    print("\n".join(report_lines(rep)))
    if args.json:
        atomic_write_json(args.json, rep)
    return 0
