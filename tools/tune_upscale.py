"""Tune the small-nuclei upscale rule (cellrt.pipeline.upscale) of an existing package on the val
split, score the result on the test split and write the package with the rule and the new
numbers in its card (atomically; by default in place). Packages built by build_shipped_model.py
already carry a tuned rule; this is for packages built before the rule existed.

Example:
  python tools/tune_upscale.py --model nuclei-fluo --data ../shared/data/dsb2018_stage1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from cellrt.pipeline.evaluate import evaluate, print_report
from cellrt.runtime.package import ModelPackage, write_package
from cellrt.train.tune import tune_upscale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="shipped model name or .cellrt path")
    p.add_argument("--data", required=True, help="the dataset the model was tuned on")
    p.add_argument("--out", default="", help="package path (default: overwrite the input)")
    args = p.parse_args(argv)
    pkg = ModelPackage.load(args.model)
    out = Path(args.out) if args.out else pkg.path
    rule = tune_upscale(pkg.path, args.data, "val")
    print(f"val: {rule}")
    config = {k: v for k, v in pkg.config.items() if k != "format_version"}
    config["upscale"] = {"below_median_area": rule["below_median_area"], "factor": rule["factor"]}
    card = config.setdefault("card", {})
    card.setdefault("tuning", {})["upscale"] = rule
    card["tuning"]["score"] = rule["score"]
    with tempfile.TemporaryDirectory(prefix="cellrt-upscale-") as tmp_dir:
        tmp = write_package(Path(tmp_dir) / out.name, config, pkg.onnx_bytes, pkg.weights)
        # The card's numbers are the fp32 reference's, as build_shipped_model records them.
        report = evaluate(tmp, args.data, "test", backend="onnxruntime")
    print_report(report)
    card["metrics_test"] = report["groups"]
    write_package(out, config, pkg.onnx_bytes, pkg.weights)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
