"""Benchmark every compiled op against its peer in one run.

Prints a table and (with --json PATH) writes a list of records
{"op", "case", "ours_ms", "peer", "peer_ms", "ratio", ...}; ratio = peer_ms / ours_ms, medians
over repeats, 2 threads. Each op's cases live in tools/bench/bench_<op>.py as run(quick).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from tools.bench._timing import set_threads  # noqa: E402

BENCHES = ["nms", "roi_align", "watershed", "label", "regionprops", "paste_masks", "boundary_votes",
           "attention_fusion"]


def print_table(records: list[dict]) -> None:
    cols = ["op", "case", "ours_ms", "peer", "peer_ms", "ratio", "match"]
    rows = [[str(r.get(c, "")) for c in cols] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", metavar="PATH", help="write the records as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer cases and repeats")
    parser.add_argument("--only", nargs="*", choices=BENCHES, help="run only these ops")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    records: list[dict] = []
    for name in args.only or BENCHES:
        module = importlib.import_module(f"tools.bench.bench_{name}")
        got = module.run(quick=args.quick)
        records.extend(got)
        print_table(got)
        sys.stdout.flush()
    print("\nall ops:")
    print_table(records)
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
