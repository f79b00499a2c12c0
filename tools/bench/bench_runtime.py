"""The runtime's targets (issue 4), measured in one run and printed as ratios:

  1. network stage at 2048²: cellrt's `auto` backend vs torch eager fp32 channels_last
     (target >= 1.5x); every other backend and precision reported beside them;
  2. `Engine.segment_many` on 64 real 256² images vs a loop of single `Engine.segment` calls,
     same engine (target >= 1.5x images/s);
  3. post-processing (postprocess + stitch) share of end-to-end time at 2048² with `auto`
     (target < 15 %).

    PYTHONPATH=python python tools/bench/bench_runtime.py [--quick] [--json PATH]

Images are the shipped examples tiled into a mosaic (cellrt.engine.benchmark.mosaic). The machine
should be otherwise idle: ratios are measured in the same run, absolute times are not portable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))

from cellrt.engine.engine import Engine  # noqa: E402
from cellrt.engine import benchmark as bench  # noqa: E402
from cellrt.runtime.backends import backend_status  # noqa: E402

MODEL = "nuclei-fluo"


def backends_here() -> list[str]:
    specs = ["auto"]
    for name, st in backend_status().items():
        specs += [f"{name}:{p}" for p in st["precisions"]]
    return specs


def network_at_2048(repeat: int, threads: int) -> dict:
    report = bench.run_bench(MODEL, backends_here(), [2048], batch=1, repeat=repeat,
                             threads=threads, log=print)
    runs = {r["backend"]: r for r in report["runs"]}
    auto, torch = runs["auto"], runs.get("torch:fp32")
    out = {"runs": report["runs"]}
    if torch is not None:
        out["network_ratio_auto_vs_torch"] = round(
            torch["stages"]["network"]["p50_ms"] / auto["stages"]["network"]["p50_ms"], 2)
    st = auto["stages"]
    out["postprocess_share_auto"] = round(
        (st["postprocess"]["p50_ms"] + st["stitch"]["p50_ms"]) / st["total"]["p50_ms"], 4)
    return out


def many_vs_loop(n: int, repeat: int, threads: int) -> dict:
    big = bench.mosaic(2048)
    rng = np.random.default_rng(0)
    crops = [np.ascontiguousarray(big[y:y + 256, x:x + 256])
             for y, x in zip(rng.integers(0, 2048 - 256, n), rng.integers(0, 2048 - 256, n))]
    engine = Engine(MODEL, backend="auto", threads=threads, batch_size=8)
    engine.segment(crops[0])
    list(engine.segment_many(crops[:8]))  # warm-up: streams built, shapes planned
    loop_s, many_s = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        singles = [engine.segment(c) for c in crops]
        loop_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        many = list(engine.segment_many(crops))
        many_s.append(time.perf_counter() - t0)
    same = all(np.array_equal(a.labels, b.labels) for a, b in zip(singles, many))
    loop_ips, many_ips = n / float(np.median(loop_s)), n / float(np.median(many_s))
    # The ceiling of any pipelining here: the network alone, batched, on all the threads.
    x = np.random.default_rng(1).random((engine.batch_size, 1, 256, 256), np.float32)
    engine.backend.run(x)
    t0 = time.perf_counter()
    for _ in range(n // engine.batch_size):
        engine.backend.run(x)
    net_ips = n / (time.perf_counter() - t0)
    return {"backend": f"{engine.backend.name} {engine.backend.precision}", "images": n,
            "size": 256, "batch": engine.batch_size, "streams": engine.streams,
            "loop_images_per_s": round(loop_ips, 2), "many_images_per_s": round(many_ips, 2),
            "ratio": round(many_ips / loop_ips, 2), "identical_labels": same,
            "network_only_images_per_s": round(net_ips, 2),
            "ceiling_ratio": round(net_ips / loop_ips, 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    repeat = 2 if args.quick else 5
    net = network_at_2048(repeat, args.threads)
    many = many_vs_loop(64, 2 if args.quick else 3, args.threads)
    print(f"\nnetwork stage at 2048²: auto vs torch eager fp32 channels_last = "
          f"{net.get('network_ratio_auto_vs_torch')}x (target >= 1.5)")
    print(f"segment_many vs loop of segment, 64 x 256² ({many['backend']}): "
          f"{many['many_images_per_s']} vs {many['loop_images_per_s']} img/s = {many['ratio']}x "
          f"(target >= 1.5), identical labels: {many['identical_labels']}; the network alone "
          f"(batch {many['batch']}, all threads) runs {many['network_only_images_per_s']} img/s, "
          f"so no pipelining can exceed {many['ceiling_ratio']}x here")
    print(f"post-processing share of end-to-end at 2048² (auto): "
          f"{100 * net['postprocess_share_auto']:.1f} % (target < 15 %)")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": net["runs"], "targets": {
            "network_ratio_auto_vs_torch": net.get("network_ratio_auto_vs_torch"),
            "postprocess_share_auto": net["postprocess_share_auto"],
            "segment_many_vs_loop": many}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
