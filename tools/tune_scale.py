"""Measure a model's training object scale and tune its scale rule on val, then write both into
the package (config "scale", "expects" and the card's "scale" record), atomically.

1. The training diameter: median over the train split's images of each image's median object
   diameter (circle of equal area), from the annotations.
2. The measured diameter: the same median of the model's own objects on val images at 1x.
3. The rule (cellrt.families.scale) and the small-objects threshold (upscale.below_median_area):
   every combination of --shrink-below and --enlarge-area is scored on the val split rescaled
   by each of --scales (labels nearest-neighbour); the best mean AP@0.5 over the scales wins
   among those that keep the 1x AP@0.5 within --max-1x-drop of the package as it was (images
   at their own scale matter most: most users never change objective).
The test split is read only after everything is chosen, for the card's metrics_test
(--no-test skips it).

  python tools/tune_scale.py --model nuclei-fluo --data ../shared/data/dsb2018_stage1 \
      --modality fluorescence --shrink-below 0.6 --enlarge-area 110
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cellrt.calibrate.tune_package import editable_config, score_on_test, write_trial
from cellrt.engine.engine import Engine
from cellrt.io.datasets import image_path, read_split
from cellrt.io.images import read_image
from cellrt.metrics import DatasetMetrics
from cellrt.runtime.package import ModelPackage


def training_diameter(data: Path) -> float:
    import tifffile

    medians = []
    for sid in read_split(data, ["train"]):
        areas = np.bincount(tifffile.imread(data / "labels" / f"{sid}.tif").ravel())[1:]
        areas = areas[areas > 0]
        if len(areas):
            medians.append(float(np.median(np.sqrt(areas * 4 / np.pi))))
    return float(np.median(medians))


def rescaled(img: np.ndarray, labels: np.ndarray, s: float):
    import cv2

    if s == 1:
        return img, labels
    out = cv2.resize(img, None, fx=s, fy=s,
                     interpolation=cv2.INTER_LINEAR if s > 1 else cv2.INTER_AREA)
    lab = cv2.resize(labels, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_NEAREST)
    return out, lab


def measured_diameter(package, pairs, threads: int) -> float:
    """Median over val images of the median diameter of the model's own objects, one pass at
    each image's own scale: the size the probes' estimates are compared with."""
    engine = Engine(package, backend="onnxruntime", threads=threads, upscale=False)
    medians = [engine.segment(img).diameter for img, _ in pairs]
    return float(np.median([m for m in medians if m > 0]))


def score(package: Path, pairs, scales, threads: int) -> dict:
    """AP@0.5 (pooled) and the number of images segmented at another scale, per scale."""
    engine = Engine(package, backend="onnxruntime", threads=threads)
    out = {}
    for s in scales:
        dm, moved = DatasetMetrics(thresholds=[0.5]), 0
        for img, lab in pairs:
            im, lb = rescaled(img, lab, s)
            res = engine.segment(im)
            moved += res.scale != 1
            dm.add(lb, res.labels)
        out[str(s)] = {"ap50": round(float(dm.result().ap.ap[0]), 4), "rescaled": moved}
    return out


def main(argv=None) -> int:
    import tifffile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--modality", required=True, help="what the model expects, for the card")
    p.add_argument("--pixel-size", type=float, default=None,
                   help="µm per px of the training images, where the source states it")
    p.add_argument("--shrink-below", type=float, nargs="+", default=[0.6, 0.75])
    p.add_argument("--enlarge-area", type=float, nargs="+", default=[110])
    p.add_argument("--scales", type=float, nargs="+", default=[0.5, 1, 2, 3, 4])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--max-1x-drop", type=float, default=0.005)
    p.add_argument("--agree", type=float, default=1.45, help="cellrt.families.scale.ScaleRule")
    p.add_argument("--probes", type=float, nargs="+", default=[0.125, 0.25, 0.5])
    p.add_argument("--out", default="", help="package path (default: overwrite the input)")
    p.add_argument("--no-test", dest="test", action="store_false",
                   help="skip scoring the chosen package on the test split for its card")
    args = p.parse_args(argv)

    pkg = ModelPackage.load(args.model)
    diameter = round(training_diameter(args.data), 1)
    print(f"training diameter (median of per-image medians, train split): {diameter} px")
    pairs = [(read_image(image_path(args.data, sid)),
              tifffile.imread(args.data / "labels" / f"{sid}.tif"))
             for sid in read_split(args.data, ["val"])]
    tmp = tempfile.TemporaryDirectory(prefix="cellrt-tune-scale-")
    trial = Path(tmp.name) / "trial.cellrt"
    measured = round(measured_diameter(pkg.path, pairs, args.threads), 1)
    print(f"measured diameter (the model's own objects, val at 1x): {measured} px")
    baseline = score(pkg.path, pairs, [1], args.threads)["1"]["ap50"]
    print(f"1x AP@0.5 of the package as it was: {baseline}")
    results = []
    for shrink_below, area in itertools.product(args.shrink_below, args.enlarge_area):
        config = editable_config(pkg)
        config["scale"] = {"diameter": diameter, "measured": measured, "probes": args.probes,
                           "agree": args.agree, "shrink_below": shrink_below,
                           "pixel_size": args.pixel_size}
        config["upscale"] = {"below_median_area": area, "factor": 2}
        write_trial(pkg, config, trial)
        t0 = time.perf_counter()
        table = score(trial, pairs, args.scales, args.threads)
        mean = float(np.mean([v["ap50"] for v in table.values()]))
        results.append((mean, shrink_below, area, table, config))
        print(json.dumps({"shrink_below": shrink_below, "enlarge_area": area,
                          "mean_ap50": round(mean, 4), "val": table,
                          "seconds": round(time.perf_counter() - t0)}), flush=True)
    ok = [r for r in results if r[3]["1"]["ap50"] >= baseline - args.max_1x_drop] or results
    mean, shrink_below, area, table, config = max(ok, key=lambda r: r[0])
    config["expects"] = {"modality": args.modality, "channels": pkg.config.in_channels,
                         "diameter": diameter}
    config["card"]["scale"] = {
        "training_diameter": f"{diameter} px: median over train images of the median object "
                             "diameter (annotations)",
        "measured_diameter": f"{measured} px: median over val images of the median diameter of "
                             "the model's objects at 1x",
        "tuned_on": "val split rescaled by " + ", ".join(map(str, args.scales)),
        "val_ap50_by_scale": table,
        "grid": [{"shrink_below": r[1], "enlarge_area": r[2], "mean_ap50": round(r[0], 4),
                  "ap50_1x": r[3]["1"]["ap50"]} for r in results],
        "ap50_1x_before": baseline,
    }
    if args.test:  # only now, with everything chosen on val: the card's test numbers
        config["card"]["metrics_test"] = score_on_test(pkg, config, args.data, trial, log=print)
    out = write_trial(pkg, config, Path(args.out or pkg.path))
    tmp.cleanup()
    print(f"wrote {out}: shrink_below {shrink_below}, below_median_area {area}, "
          f"mean val AP@0.5 {mean:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
