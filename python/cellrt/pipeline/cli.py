"""`cellrt segment` and `cellrt demo`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cellrt.io.images import IMAGE_SUFFIXES, ImageError, read_image

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def add_parsers(sub) -> None:
    p = sub.add_parser("segment", help="segment images: labels TIFF, objects CSV, overlay, GeoJSON")
    p.add_argument("inputs", nargs="+", help="image files or folders (PNG, JPEG, TIFF)")
    p.add_argument("-o", "--outdir", required=True, help="output folder")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    p.add_argument("--tile-size", type=int, default=None, help="tile core side in pixels")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    add_upscale_argument(p)
    add_backend_argument(p)
    p.set_defaults(func=run_segment)
    d = sub.add_parser("demo", help="segment a shipped example and score it against its label")
    d.add_argument("-o", "--outdir", default="cellrt-demo", help="output folder")
    d.set_defaults(func=run_demo)


def add_upscale_argument(p) -> None:
    """--no-upscale and --flips: the options that trade network passes for accuracy."""
    p.add_argument("--no-upscale", dest="upscale", action="store_false",
                   help="one pass per image: skip the model's second pass at 2x for images of "
                        "small nuclei (cellrt.pipeline.upscale)")
    p.add_argument("--flips", action="store_true",
                   help="average the network's maps over the four flips of each image "
                        "(cellrt.runtime.flip_average): a little more accurate, 4x network time")


def add_backend_argument(p, multiple: bool = False) -> None:
    from cellrt.runtime.backends import NAMES

    choices = ("auto",) + NAMES
    if multiple:
        p.add_argument("--backend", nargs="+", default=["auto"], metavar="NAME[:PRECISION]",
                       help=f"network backends to compare, from {', '.join(choices)}, optionally "
                            "with a precision (e.g. openvino:bf16); 'auto': fastest accurate one")
    else:
        p.add_argument("--backend", default="auto", choices=choices,
                       help="network backend ('auto': fastest accurate one here, measured once)")


def collect_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    files, errors = [], []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                errors.append(f"{p}: folder has no PNG, JPEG or TIFF images")
            files += found
        elif p.exists():
            files.append(p)
        else:
            errors.append(f"{p}: no such file or folder")
    return files, errors


def _progress(i: int, n: int, name: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r[{i}/{n}] {name[:60]:<60}" + ("\n" if i == n else ""))
        sys.stderr.flush()


def run_segment(args: argparse.Namespace) -> int:
    from cellrt.io.outputs import check_output_folder, write_outputs
    from cellrt.pipeline.api import get_engine

    if args.tile_size is not None and args.tile_size < 0:
        raise ValueError(f"--tile-size must be >= 0, got {args.tile_size}")
    check_output_folder(args.outdir)  # before the model loads, not at the first file
    files, errors = collect_inputs(args.inputs)
    # A bad model or backend fails once, before any file.
    engine = get_engine(args.model, args.backend, args.threads, args.tile_size, args.upscale,
                        args.flips)
    for e in errors:
        print(f"cellrt segment: error: {e}", file=sys.stderr)
    failed = len(errors)
    for i, f in enumerate(files, 1):
        _progress(i, len(files), f.name)
        try:
            img = read_image(f)
            res = engine.segment(img)
            write_outputs(args.outdir, f.stem, img, res)
        except ImageError as exc:
            print(f"cellrt segment: error: {exc}", file=sys.stderr)
            failed += 1
        except (ValueError, TypeError) as exc:
            print(f"cellrt segment: error: {f}: {exc}", file=sys.stderr)
            failed += 1
        else:
            extra = f", segmented at {res.scale}x (small nuclei)" if res.scale > 1 else ""
            extra += f", {res.cut_objects} cut by the tile halo" if res.cut_objects else ""
            print(f"{f}: {res.count} objects{extra}")
    return 1 if failed else 0


def run_demo(args: argparse.Namespace) -> int:
    import tifffile

    from cellrt.io.outputs import write_outputs
    from cellrt.metrics import average_precision, panoptic_quality
    from cellrt.pipeline.api import segment

    image_path = EXAMPLES / "dsb_fluo_0.png"
    img = read_image(image_path)
    truth = tifffile.imread(EXAMPLES / "dsb_fluo_0_labels.tif")
    res = segment(img, "nuclei-fluo")
    paths = write_outputs(args.outdir, image_path.stem, img, res)
    ap = average_precision(truth, res.labels, thresholds=[0.5])
    pq = panoptic_quality(truth, res.labels)
    print(f"demo: {image_path.name}: {res.count} nuclei found, {int(truth.max())} annotated")
    print(f"demo: AP@0.5 = {ap.ap[0]:.3f}  PQ = {pq.pq:.3f}")
    print("demo: wrote " + ", ".join(str(p) for p in paths))
    return 0
