"""`cellrt demo`: segment a shipped example with the shipped nuclei-fluo model, write its outputs,
and score it against the example's annotation."""

from __future__ import annotations

import argparse

from cellrt.cli.options import note
from cellrt.engine.api import get_engine
from cellrt.engine.result import STAGES
from cellrt.io.examples import example_path
from cellrt.io.images import read_image
from cellrt.io.outputs import check_output_folder, write_outputs
from cellrt.metrics import average_precision, panoptic_quality

# A typical fluorescence field (520 x 696, 102 annotated nuclei; dsb2018 test split, CC0): its
# AP@0.5 is near the median of the model's fluorescence test images (examples/README.md).
EXAMPLE = "dsb_fluo_3.png"
MODEL = "nuclei-fluo"


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="segment a shipped example and score it against its label")
    p.add_argument("-o", "--outdir", default="cellrt-demo", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tifffile

    check_output_folder(args.outdir)
    image_path = example_path(EXAMPLE)
    truth = tifffile.imread(image_path.with_name(image_path.stem + "_labels.tif"))
    engine = get_engine(MODEL, log=note)
    res = engine.segment(image_path)  # from the file, so the read is timed too
    img = read_image(image_path)
    paths = write_outputs(args.outdir, image_path.stem, img, res)
    ap = average_precision(truth, res.labels, thresholds=[0.5])
    pq = panoptic_quality(truth, res.labels)
    backend = engine.backend
    print(f"demo: {image_path.name} ({img.shape[1]} x {img.shape[0]}), model {MODEL} on "
          f"{backend.name} {backend.precision}: {res.count} nuclei found, {int(truth.max())} "
          "annotated")
    test = engine.config.card.get("metrics_test", {}).get("fluorescence", {})
    card = (f"  (fluorescence test split of this model: AP@0.5 {test['ap50']:.3f}, PQ "
            f"{test['pq']:.3f})") if "ap50" in test and "pq" in test else ""
    print(f"demo: AP@0.5 = {ap.ap[0]:.3f}  PQ = {pq.pq:.3f}{card}")
    times = "  ".join(f"{s} {res.timings.get(s, 0.0) * 1e3:.0f}" for s in STAGES)
    print(f"demo: milliseconds per stage: {times}")
    print(f"demo: wrote {args.outdir}/: " + ", ".join(p.name for p in paths))
    return 0
