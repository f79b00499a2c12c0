"""`cellrt segment`: images or folders in, labels TIFF, objects CSV, overlay PNG and GeoJSON out
per image; a bad file costs one line and the run goes on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cellrt.cli.options import add_backend_argument, add_upscale_argument
from cellrt.engine.api import get_engine
from cellrt.io.images import IMAGE_SUFFIXES, ImageError, read_image
from cellrt.io.outputs import check_output_folder, write_outputs


def add_parser(sub) -> None:
    p = sub.add_parser("segment", help="segment images: labels TIFF, objects CSV, overlay, GeoJSON")
    p.add_argument("inputs", nargs="+", help="image files or folders (PNG, JPEG, TIFF)")
    p.add_argument("-o", "--outdir", required=True, help="output folder")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    p.add_argument("--tile-size", type=int, default=None, help="tile core side in pixels")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    add_upscale_argument(p)
    add_backend_argument(p)
    p.set_defaults(func=run_segment)


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


