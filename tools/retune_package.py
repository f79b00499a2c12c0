"""Re-tune an existing package on the val split: its post-processing (optionally for another
marker rule, cellrt.families.boundary.postprocess), then its small-nuclei upscale rule
(cellrt.families.boundary.upscale), then, for a model with a type head, its class-prior correction
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
from pathlib import Path

from cellrt.families.boundary.postprocess import MARKER_RULES
from cellrt.runtime.package import ModelPackage
from cellrt.calibrate.tune_package import (editable_config, score_on_test, tune_classes,
                                          tune_segmentation, val_maps, write_trial)


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
                                              "grid (cellrt.calibrate.tune.GRIDS)")
    p.add_argument("--min-gain", type=float, default=0.002,
                   help="val score gain over the card's below which a stage is not kept")
    args = p.parse_args(argv)
    pkg = ModelPackage.load(args.model)
    out = Path(args.out) if args.out else pkg.path
    config = editable_config(pkg)
    card = config.setdefault("card", {})
    changed = []
    with tempfile.TemporaryDirectory(prefix="cellrt-retune-") as tmp_dir:
        trial = Path(tmp_dir) / out.name
        maps = val_maps(pkg, args.data)  # one network pass over val, shared by the stages
        if {"postprocess", "upscale"} & set(args.stages):
            changed += _tune_segmentation(args, pkg, config, trial, maps)
        if "type_weights" in args.stages and "type_prob" in config.get("outputs", []):
            changed += _tune_type_weights(args, pkg, config, trial, maps)
        if not changed:
            # The choice is made on val, before the test split is touched.
            print("no val gain: nothing written")
            return 1
        card["metrics_test"] = score_on_test(pkg, config, args.data, trial, log=print)
    write_trial(pkg, config, out)
    print(f"re-tuned {', '.join(changed)}; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


def _tune_segmentation(args, pkg, config: dict, trial: Path, maps: list) -> list[str]:
    """Post-processing, then the upscale rule, on val; kept (config and its card's tuning record
    updated) only if the objective beats the card's by min_gain."""
    stages = [s for s in ("postprocess", "upscale") if s in args.stages]
    card = config["card"]
    old_record = card.get("tuning", {})
    tuned, record = tune_segmentation(
        pkg, config, args.data, trial, record=old_record,
        postprocess="postprocess" in stages, upscale="upscale" in stages,
        markers=args.markers, grid=json.loads(args.grid) if args.grid else None, maps=maps,
        log=print)
    score, old = record["score"], old_record.get("score")
    print(f"val: score {score} (card: {old}) with {tuned['postprocess']}, "
          f"upscale {record.get('upscale')}")
    if old is not None and score - old < args.min_gain:
        print(f"val gain {score - old:.4f} < {args.min_gain}: post-processing and upscale kept")
        return []
    if old is not None:
        record["replaced"] = {"score": old, "postprocess": config.get("postprocess")}
    for key in ("postprocess", "upscale"):
        if key in tuned:
            config[key] = tuned[key]
    card["tuning"] = record
    return stages


def _tune_type_weights(args, pkg, config: dict, trial: Path, maps: list) -> list[str]:
    found = tune_classes(pkg, config, args.data, trial, min_gain=args.min_gain, maps=maps,
                         log=print)
    print(f"val: type weights {found}")
    current = config["postprocess"].get("type_weights")
    if found["type_weights"] is None or found["type_weights"] == current:
        return []
    config["postprocess"]["type_weights"] = found["type_weights"]
    config["card"].setdefault("tuning", {})["type_weights"] = found
    return ["type_weights"]


if __name__ == "__main__":
    sys.exit(main())
