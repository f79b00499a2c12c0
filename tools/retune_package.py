"""Re-tune an existing package on the val split: its post-processing (optionally for another
marker rule, cellrt.pipeline.postprocess), then its small-nuclei upscale rule
(cellrt.pipeline.upscale), then, for a model with a type head, its class-prior correction
(type_weights, for mPQ+). Each stage is kept only if it beats the card's val score by at least
--min-gain; only then is the test split scored and the package written with the new parameters
and numbers in its card (atomically; by default in place). The network is unchanged.

Examples:
  python tools/retune_package.py --model nuclei-he --data ../shared/data/consep_patches256 \
      --markers vote_maxima
  python tools/retune_package.py --model nuclei-fluo --data ../shared/data/dsb2018_stage1 \
      --stages upscale
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from cellrt.pipeline.evaluate import evaluate, print_report
from cellrt.pipeline.postprocess import MARKER_RULES, PostprocessParams
from cellrt.runtime.package import ModelPackage, write_package
from cellrt.train.tune import tune, tune_type_weights, tune_upscale


STAGES = ("postprocess", "upscale", "type_weights")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="shipped model name or .cellrt path")
    p.add_argument("--data", required=True, help="the dataset the model was tuned on")
    p.add_argument("--out", default="", help="package path (default: overwrite the input)")
    p.add_argument("--markers", default=None, choices=MARKER_RULES,
                   help="marker rule to tune (default: the package's)")
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES,
                   help="what to tune, in this order: postprocess, upscale (they are kept only "
                        "on a val gain of --min-gain in the mean of AP@0.5 and PQ), "
                        "type_weights (models with a type head; kept on a gain in mPQ+)")
    p.add_argument("--grid", default="", help="JSON {parameter: [values]} replacing the rule's "
                                              "grid (cellrt.train.tune.GRIDS)")
    p.add_argument("--min-gain", type=float, default=0.002,
                   help="val score gain over the card's below which a stage is not kept")
    args = p.parse_args(argv)
    pkg = ModelPackage.load(args.model)
    out = Path(args.out) if args.out else pkg.path
    config = json.loads(json.dumps({k: v for k, v in pkg.config.items() if k != "format_version"}))
    card = config.setdefault("card", {})
    tuning = dict(card.get("tuning", {}))
    changed = []
    with tempfile.TemporaryDirectory(prefix="cellrt-retune-") as tmp_dir:
        tmp = Path(tmp_dir) / out.name
        if {"postprocess", "upscale"} & set(args.stages):
            changed += _tune_segmentation(args, pkg, config, tuning, tmp)
        if "type_weights" in args.stages and "type_prob" in config.get("outputs", []):
            changed += _tune_type_weights(args, pkg, config, tuning, tmp)
        if not changed:
            # The choice is made on val, before the test split is touched.
            print("no val gain: nothing written")
            return 1
        card["tuning"] = tuning
        write_package(tmp, config, pkg.onnx_bytes, pkg.weights)
        # The card's numbers are the fp32 reference's, as build_shipped_model records them.
        report = evaluate(tmp, args.data, "test", backend="onnxruntime")
    print_report(report)
    card["metrics_test"] = report["groups"]
    write_package(out, config, pkg.onnx_bytes, pkg.weights)
    print(f"re-tuned {', '.join(changed)}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


def _tune_segmentation(args, pkg, config: dict, tuning: dict, tmp: Path) -> list[str]:
    """Post-processing, then the upscale rule, on val; kept (config and tuning updated) only if
    the objective beats the card's by min_gain."""
    trial = json.loads(json.dumps(config))
    trial_tuning = dict(tuning)
    if "postprocess" in args.stages:
        best, trial_tuning = tune(pkg.path, args.data, "val", markers=args.markers,
                                  grid=json.loads(args.grid) if args.grid else None)
        # Classes are tuned separately; a new marker rule keeps the class correction.
        best = replace(best, type_weights=PostprocessParams.from_dict(
            config["postprocess"]).type_weights)
        trial["postprocess"] = best.to_dict()
    write_package(tmp, trial, pkg.onnx_bytes, pkg.weights)
    rule = tune_upscale(tmp, args.data, "val") if "upscale" in args.stages else None
    score = rule["score"] if rule else trial_tuning["score"]
    old = tuning.get("score")
    print(f"val: score {score} (card: {old}) with {trial['postprocess']}, upscale {rule}")
    if old is not None and score - old < args.min_gain:
        print(f"val gain {score - old:.4f} < {args.min_gain}: post-processing and upscale kept")
        return []
    if rule:
        trial["upscale"] = {"below_median_area": rule["below_median_area"],
                            "factor": rule["factor"]}
        trial_tuning["upscale"] = rule
    trial_tuning["score"] = score
    if "type_weights" in tuning:
        trial_tuning["type_weights"] = tuning["type_weights"]
    if old is not None:
        trial_tuning["replaced"] = {"score": old, "postprocess": config.get("postprocess")}
    # Only these two keys: config["card"] is the caller's card, which it fills in.
    config["postprocess"] = trial["postprocess"]
    if "upscale" in trial:
        config["upscale"] = trial["upscale"]
    tuning.clear()
    tuning.update(trial_tuning)
    return [s for s in ("postprocess", "upscale") if s in args.stages]


def _tune_type_weights(args, pkg, config: dict, tuning: dict, tmp: Path) -> list[str]:
    write_package(tmp, config, pkg.onnx_bytes, pkg.weights)
    found = tune_type_weights(tmp, args.data, "val", min_gain=args.min_gain)
    print(f"val: type weights {found}")
    current = config["postprocess"].get("type_weights")
    if found["type_weights"] is None or found["type_weights"] == current:
        return []
    config["postprocess"]["type_weights"] = found["type_weights"]
    tuning["type_weights"] = found
    return ["type_weights"]


if __name__ == "__main__":
    sys.exit(main())
