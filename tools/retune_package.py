"""Re-tune an existing package on the val split: its post-processing (optionally for another
marker rule, cellrt.pipeline.postprocess) and then its small-nuclei upscale rule
(cellrt.pipeline.upscale). The result replaces the package only if its val score beats the card's
by at least --min-gain; only then is the test split scored and the package written with the new
parameters and numbers in its card (atomically; by default in place). The network is unchanged.

Examples:
  python tools/retune_package.py --model nuclei-he --data ../shared/data/consep_patches256 \
      --markers vote_maxima
  python tools/retune_package.py --model nuclei-fluo --data ../shared/data/dsb2018_stage1 \
      --upscale-only
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cellrt.pipeline.evaluate import evaluate, print_report
from cellrt.pipeline.postprocess import MARKER_RULES
from cellrt.runtime.package import ModelPackage, write_package
from cellrt.train.tune import tune, tune_upscale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="shipped model name or .cellrt path")
    p.add_argument("--data", required=True, help="the dataset the model was tuned on")
    p.add_argument("--out", default="", help="package path (default: overwrite the input)")
    p.add_argument("--markers", default=None, choices=MARKER_RULES,
                   help="marker rule to tune (default: the package's)")
    p.add_argument("--upscale-only", action="store_true",
                   help="keep the post-processing; tune only the upscale rule")
    p.add_argument("--grid", default="", help="JSON {parameter: [values]} replacing the rule's "
                                              "grid (cellrt.train.tune.GRIDS)")
    p.add_argument("--min-gain", type=float, default=0.002,
                   help="val score gain over the card's below which nothing is written")
    args = p.parse_args(argv)
    pkg = ModelPackage.load(args.model)
    out = Path(args.out) if args.out else pkg.path
    config = {k: v for k, v in pkg.config.items() if k != "format_version"}
    card = config.setdefault("card", {})
    old_tuning = card.get("tuning", {})
    with tempfile.TemporaryDirectory(prefix="cellrt-retune-") as tmp_dir:
        tmp = Path(tmp_dir) / out.name
        tuning = dict(old_tuning)
        if not args.upscale_only:
            best, tuning = tune(pkg.path, args.data, "val", markers=args.markers,
                                grid=json.loads(args.grid) if args.grid else None)
            config["postprocess"] = best.to_dict()
        write_package(tmp, config, pkg.onnx_bytes, pkg.weights)
        rule = tune_upscale(tmp, args.data, "val")
        tuning["upscale"] = rule
        tuning["score"] = rule["score"]
        old_score = old_tuning.get("score")
        print(f"val: score {tuning['score']} (card: {old_score}) with {config['postprocess']}, "
              f"upscale {rule}")
        if old_score is not None and tuning["score"] - old_score < args.min_gain:
            # The choice is made on val, before the test split is touched.
            print(f"val gain {tuning['score'] - old_score:.4f} < {args.min_gain}: nothing written")
            return 1
        config["upscale"] = {"below_median_area": rule["below_median_area"],
                             "factor": rule["factor"]}
        if old_score is not None:
            tuning["replaced"] = {"score": old_score,
                                  "postprocess": pkg.config.get("postprocess")}
        card["tuning"] = tuning
        write_package(tmp, config, pkg.onnx_bytes, pkg.weights)
        # The card's numbers are the fp32 reference's, as build_shipped_model records them.
        report = evaluate(tmp, args.data, "test", backend="onnxruntime")
    print_report(report)
    card["metrics_test"] = report["groups"]
    write_package(out, config, pkg.onnx_bytes, pkg.weights)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
