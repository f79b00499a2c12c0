"""AP@0.5 of shipped models on a split rescaled by several factors (as a 20x-63x objective shows
the same cells), with the automatic scale and without it (one pass at the image's own scale):
the table in README.md and docs/scale.md. Labels are rescaled nearest-neighbour.

  python tools/scale_table.py --model nuclei-fluo --data ../shared/data/dsb2018_stage1
  python tools/scale_table.py --model nuclei-he --data ../shared/data/consep_patches256
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


from cellrt.engine.engine import Engine
from cellrt.io.datasets import image_path, read_split
from cellrt.io.images import read_image
from cellrt.metrics import DatasetMetrics

sys.path.insert(0, str(Path(__file__).parent))
from tune_scale import rescaled  # noqa: E402  (one rescaling rule for tuning and reporting)


def main(argv=None) -> int:
    import tifffile

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--split", default="test")
    p.add_argument("--scales", type=float, nargs="+", default=[0.5, 1, 2, 3, 4])
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    pairs = [(read_image(image_path(args.data, sid)),
              tifffile.imread(args.data / "labels" / f"{sid}.tif"))
             for sid in read_split(args.data, [args.split])]
    rows = {}
    for mode, upscale in (("auto scale", True), ("one pass", False)):
        engine = Engine(args.model, backend="onnxruntime", threads=args.threads,
                        upscale=upscale)
        rows[mode] = {}
        for s in args.scales:
            t0 = time.perf_counter()
            dm = DatasetMetrics(thresholds=[0.5])
            for img, lab in pairs:
                im, lb = rescaled(img, lab, s)
                dm.add(lb, engine.segment(im).labels)
            rows[mode][s] = round(float(dm.result().ap.ap[0]), 3)
            print(f"{mode} {s}x: AP@0.5 {rows[mode][s]} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    head = " | ".join(f"{s:g}x" for s in args.scales)
    print(f"| {args.model}, {args.split} split ({len(pairs)} images) | {head} |")
    print("|---|" + "---|" * len(args.scales))
    for mode, row in rows.items():
        print(f"| {mode} | " + " | ".join(f"{row[s]:.3f}" for s in args.scales) + " |")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "split": args.split,
                                         "images": len(pairs), "ap50": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
