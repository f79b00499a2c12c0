"""`cellrt segment`: images or folders in, labels TIFF, objects CSV, overlay PNG and GeoJSON out
per image; a bad file costs one line and the run goes on."""

from __future__ import annotations

import argparse
import re
import sys

from cellrt.cli.options import TileProgress, add_backend_argument, add_upscale_argument, note
from cellrt.engine.api import get_engine
from cellrt.engine.fit import pick_model
from cellrt.runtime.package import shipped_models
from cellrt.io.batch import plan_batch
from cellrt.io.images import ImageError, read_file, select_planes
from cellrt.io.outputs import check_output_folder, outputs_done, write_stack_outputs


def add_parser(sub) -> None:
    p = sub.add_parser("segment", help="segment images: labels TIFF, objects CSV, overlay, GeoJSON")
    p.add_argument("inputs", nargs="+", help="image files or folders (PNG, JPEG, TIFF); with "
                   "several, each folder's outputs go to a subfolder named after it")
    p.add_argument("-o", "--outdir", required=True, help="output folder")
    p.add_argument("-r", "--recursive", action="store_true",
                   help="also take images from the subfolders of input folders (outputs keep "
                        "their relative paths)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs (default: skip images whose outputs all exist, "
                        "so a cut-off run resumes where it stopped)")
    p.add_argument("--model", default="nuclei-fluo",
                   help="shipped model name, .cellrt file, or auto: each image's shipped model "
                        "picked by a glance at it (gray or fluorescence vs stained H&E)")
    p.add_argument("--tile-size", type=int, default=None,
                   help="tile core side in pixels, >= 64, or 0 for the whole image at once "
                        "(default: the model's)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--diameter", type=float, metavar="PX",
                       help="typical nucleus diameter in pixels: images are resized so nuclei "
                            "have the model's training size (default: found per image)")
    scale.add_argument("--pixel-size", type=float, metavar="UM",
                       help="µm per pixel of the images (models with a known training pixel size)")
    p.add_argument("--roi-zip", action="store_true",
                   help="also write NAME_rois.zip: the outlines as a Fiji/ImageJ ROI set")
    p.add_argument("--channel", default=None, metavar="N|NAME",
                   help="channel to segment in a multi-channel image: index from 0, or a channel "
                        "name from OME metadata (default: the image's only channel, or RGB)")
    p.add_argument("--z", default=None, metavar="max|mean|N|all",
                   help="z stacks: max or mean projection, plane N (from 0), or all (each plane "
                        "segmented, the outputs a stack: (Z, H, W) labels, a z column); time "
                        "series are segmented frame by frame (NAME_t000_*) (default: refuse a "
                        "stack)")
    add_upscale_argument(p)
    add_backend_argument(p)
    p.set_defaults(func=run_segment)


def _progress(i: int, n: int, name: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r[{i}/{n}] {name[:60]:<60}" + ("\n" if i == n else ""))
        sys.stderr.flush()


class _Engines:
    """The engine of --model, or with --model auto the engine of each image's pick (each made
    once, on first use); every engine reports calibration and tile progress."""

    def __init__(self, args):
        self.args, self.progress = args, TileProgress()

    def get(self, model: str):
        a = self.args
        engine = get_engine(model, a.backend, a.threads, a.tile_size, a.upscale, a.flips,
                            log=note)
        engine.progress = self.progress
        return engine

    def for_image(self, img) -> tuple[object, str]:
        """(engine, what the result line says about the model)."""
        if self.args.model != "auto":
            return self.get(self.args.model), ""
        model, why = pick_model(img)
        return self.get(model), f" (model {model}: {why})"


def _segment_one(engines: _Engines, args, name: str, stem: str, images: list,
                 pixel_size) -> bool:
    """Segment one image, or each plane of a z stack (outputs written as a stack), and write
    the outputs; one line per plane either way (and one per warning). True if it worked."""
    results = []
    try:
        for z, img in enumerate(images):
            engine, picked = engines.for_image(img)
            res = engine.segment(img, diameter=args.diameter, pixel_size=args.pixel_size)
            res.table = res.table.with_pixel_size(pixel_size)
            results.append(res)
            plane = f"{name} z {z}" if len(images) > 1 else name
            extra = f", scale {res.scale:.2f}" if res.scale != 1 else ""
            extra += f" (median diameter {res.diameter:.0f} px)" if res.count else ""
            extra += f", {res.cut_objects} cut by the tile halo" if res.cut_objects else ""
            print(f"{plane}: {res.count} objects{extra}{picked}")
            for w in res.warnings:
                print(f"cellrt segment: warning: {plane}: {w}", file=sys.stderr)
        write_stack_outputs(args.outdir, stem, images, results, args.roi_zip)
    except (ValueError, TypeError) as exc:
        print(f"cellrt segment: error: {name}: {exc}", file=sys.stderr)
        return False
    return True


def _stacks(planes: list) -> list:
    """select_planes' [(suffix, image)] grouped into [(suffix, [images])]: the planes of one z
    stack ("_z000", "_z001", ... of one time point) form one group, written as a stack."""
    groups: dict[str, list] = {}
    for suffix, img in planes:
        groups.setdefault(re.sub(r"_z\d+$", "", suffix), []).append(img)
    return list(groups.items())


def run_segment(args: argparse.Namespace) -> int:
    check_output_folder(args.outdir)  # before the model loads, not at the first file
    # Name collisions refuse the run here, before the model loads and before any write.
    items, errors = plan_batch(args.inputs, args.outdir, args.recursive)
    engines = _Engines(args)
    progress = engines.progress
    for model in shipped_models() if args.model == "auto" else [args.model]:
        # A bad model, backend or scale fails once, before any file (auto: every shipped model
        # may be picked, so each is checked).
        if args.model != "auto" or args.diameter or args.pixel_size:
            engines.get(model).scale_for(args.diameter, args.pixel_size)
    for e in errors:
        print(f"cellrt segment: error: {e}", file=sys.stderr)
    failed = len(errors)
    skipped = 0
    for i, item in enumerate(items, 1):
        f = item.path
        _progress(i, len(items), f.name)
        progress.start(str(f))
        if not args.overwrite and outputs_done(args.outdir, item.stem):
            skipped += 1
            continue
        try:
            image = read_file(f)
            planes = select_planes(image, args.channel, args.z, name=str(f))
        except ImageError as exc:
            print(f"cellrt segment: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        for suffix, imgs in _stacks(planes):
            if suffix and not args.overwrite and outputs_done(args.outdir, item.stem + suffix):
                skipped += 1
                continue
            failed += not _segment_one(engines, args, f"{f}{suffix}", item.stem + suffix, imgs,
                                       args.pixel_size or image.pixel_size)
    if skipped:
        print(f"skipped {skipped} of {len(items)} images whose outputs exist in {args.outdir} "
              "(--overwrite to segment them again)")
    return 1 if failed else 0


