"""`cellrt bench`: per-stage latency (p50/p95/p99) and throughput of the whole pipeline, several
backends side by side in one run (cellrt.engine.benchmark)."""

from __future__ import annotations

import argparse

from cellrt.cli.options import add_backend_argument
from cellrt.engine.benchmark import parse_backend, run_bench
from cellrt.io.atomic import atomic_write_json


def add_parser(sub) -> None:
    p = sub.add_parser("bench", help="per-stage latency (p50/p95/p99) and throughput by backend")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    add_backend_argument(p, multiple=True)
    p.add_argument("--size", type=int, nargs="+", default=[1024], help="image side(s) in pixels")
    p.add_argument("--batch", type=int, default=1,
                   help="1: single segment calls; B > 1: B images per segment_many call")
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="network threads (0: backend default)")
    p.add_argument("--tile-size", type=int, default=None)
    p.add_argument("--json", metavar="PATH", help="write the runs as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for spec in args.backend:
        parse_backend(spec)  # every spec checked before anything runs
    if any(s < 16 for s in args.size):
        raise ValueError(f"bench: --size must be >= 16, got {args.size}")
    if args.batch < 1 or args.repeat < 1:
        raise ValueError(f"bench: --batch and --repeat must be >= 1, got {args.batch}, "
                         f"{args.repeat}")
    report = run_bench(args.model, args.backend, args.size, args.batch, args.repeat,
                       args.threads, args.tile_size, log=print)
    if args.json:
        atomic_write_json(args.json, report)
    return 0
