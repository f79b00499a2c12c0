"""Build a shipped model package from a training checkpoint:
export the deploy graph -> tune post-processing, then the small-nuclei upscale rule, then (with a
type head) the class-prior correction, on the val split -> score on the test split ->
write the package (with its model card: data, licence, training command, metrics) into
python/cellrt/zoo/NAME.cellrt.

Example:
  python tools/build_shipped_model.py --checkpoint runs/fluo/last.pt --name nuclei-fluo \
      --data ../shared/data/dsb2018_stage1 --licence CC0-1.0 --train-command "cellrt train ..."
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from cellrt.export.package import package_from_checkpoint
from cellrt.families.boundary.postprocess import MARKER_RULES, PostprocessParams
from cellrt.runtime.package import ZOO, ModelPackage
from cellrt.calibrate.tune_package import (editable_config, score_on_test, tune_classes,
                                          tune_segmentation, val_maps, write_trial)


def _trained_splits(checkpoint: str) -> list[str]:
    import torch

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    # Checkpoints from before the splits were recorded were all trained on "train".
    return list(ckpt.get("train_config", {}).get("splits") or ["train"])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--licence", required=True, help="licence of the training data")
    p.add_argument("--train-command", required=True)
    p.add_argument("--class-names", nargs="+", default=["nucleus"])
    p.add_argument("--object-halo", type=int, default=96)
    p.add_argument("--description", default="")
    p.add_argument("--out", default="", help="package path (default: the zoo's NAME.cellrt)")
    p.add_argument("--markers", default="vote_maxima", choices=MARKER_RULES,
                   help="marker rule whose parameters are tuned (cellrt.families.boundary.postprocess)")
    p.add_argument("--baseline", default="",
                   help="package (name or path) whose val tuning score this model must beat; "
                        "if it does not, stop before the test split is scored or anything written")
    p.add_argument("--min-gain", type=float, default=0.002,
                   help="val score gain over --baseline below which the candidate counts as no "
                        "better (as in tools/retune_package.py)")
    p.add_argument("--val-only", action="store_true",
                   help="tune on val and write the package to --out without scoring the test "
                        "split (to compare candidates on val, e.g. with `cellrt eval --split "
                        "val`); its card has no metrics_test")
    args = p.parse_args(argv)
    if args.val_only and not args.out:
        p.error("--val-only needs --out: a package without test metrics never goes into the zoo")
    # Read before the minutes of export and tuning, so a bad --baseline fails at once.
    base_score = (ModelPackage.load(args.baseline).config.card["tuning"]["score"]
                  if args.baseline else None)
    with tempfile.TemporaryDirectory(prefix="cellrt-build-") as tmp_dir:
        return _build(args, Path(tmp_dir) / f"{args.name}.cellrt", base_score)


def _build(args: argparse.Namespace, tmp: Path, base_score: float | None) -> int:
    out = Path(args.out) if args.out else ZOO / f"{args.name}.cellrt"
    card = {"description": args.description, "data": str(Path(args.data).name),
            "data_licence": args.licence, "trained_on_splits": _trained_splits(args.checkpoint),
            "postprocess_tuned_on": "val", "train_command": args.train_command}
    # Exported once; every stage after this re-packs the same network with other parameters.
    pkg = ModelPackage.load(package_from_checkpoint(
        args.checkpoint, tmp.with_name("exported.cellrt"), name=args.name,
        postprocess=PostprocessParams(markers=args.markers).to_dict(),
        class_names=args.class_names, card=card, object_halo=args.object_halo))
    maps = val_maps(pkg, args.data)
    config, tuning = tune_segmentation(pkg, editable_config(pkg), args.data, tmp, maps=maps,
                                       log=print)
    if "type_prob" in config.get("outputs", []):
        # Classes last: they do not change the instances the stages before tuned.
        found = tune_classes(pkg, config, args.data, tmp, maps=maps, log=print)
        tuning["type_weights"] = found
        config["postprocess"]["type_weights"] = found["type_weights"]
    card["tuning"] = tuning
    config["card"] = card
    print(f"val tuning score {tuning['score']} with {config['postprocess']}, "
          f"upscale {tuning['upscale']}")
    if base_score is not None:
        # Choosing between candidates on the test split would make its numbers optimistic, so
        # the choice is made here, on val, before the test split is touched.
        gain = round(tuning["score"] - base_score, 6)
        if gain < args.min_gain:
            print(f"not better than {args.baseline} on val ({tuning['score']} vs {base_score}: "
                  f"gain {gain} < {args.min_gain}): nothing written")
            return 1
        print(f"better than {args.baseline} on val ({tuning['score']} vs {base_score}: "
              f"gain {gain})")
    if args.val_only:
        card["val_only"] = True
    else:
        card["metrics_test"] = score_on_test(pkg, config, args.data, tmp, log=print)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_trial(pkg, config, out)
    print(json.dumps(card, indent=1)[:2000])
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
