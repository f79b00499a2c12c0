"""Segment one image with a model package: normalise (whole image) -> tiles -> network ->
post-process each tile's region -> keep the instances each tile owns -> global labels + table.

The tiled result equals the whole-image result (see cellrt.pipeline.tiling for why); the final
labels are numbered in raster order of each instance's first pixel, so the two are identical,
not merely equal up to renumbering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from cellrt import ops
from cellrt.io.images import validate_image
from cellrt.pipeline.normalize import normalize
from cellrt.pipeline.postprocess import PostprocessParams, instances_from_maps
from cellrt.pipeline.tiling import Tile, TilePlan


@dataclass
class SegmentResult:
    labels: np.ndarray  # (H, W) int32, 0 background, ids 1..N in raster order of first pixel
    table: dict  # columns: id, class, score, area, centroid (N,2), bbox (N,4), mean_intensity (N,C)
    class_names: list[str] = field(default_factory=list)
    cut_objects: int = 0  # foreground components larger than the tile halo (kept, but clipped)
    timings: dict = field(default_factory=dict)  # stage -> seconds spent on this image
    scale: int = 1  # > 1: segmented at this factor (cellrt.pipeline.upscale), labels at 1x

    @property
    def count(self) -> int:
        return len(self.table["id"])


STAGES = ("read", "normalise", "network", "postprocess", "stitch")


class StageClock:
    """Adds wall time per stage into a dict: `with clock("network"): ...`."""

    def __init__(self, timings: dict | None = None):
        self.timings = timings if timings is not None else {}

    def __call__(self, stage: str):
        return _Lap(self.timings, stage)


class _Lap:
    __slots__ = ("timings", "stage", "t0")

    def __init__(self, timings, stage):
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + time.perf_counter() - self.t0


@dataclass
class Prepared:
    """One image ready for the network: validated, normalised, planned into tiles."""

    norm: np.ndarray  # (H, W, C) float32, whole-image normalisation
    raw: np.ndarray  # (H, W, C) original intensities, measured per object
    plan: TilePlan
    tiles: list[Tile]
    config: dict
    params: PostprocessParams
    timings: dict = field(default_factory=dict)
    parts: list = field(default_factory=list)  # per tile: (instance table part, cut count)


def prepare(image: np.ndarray, config: dict, tile_size: int | None = None,
            params: PostprocessParams | None = None, timings: dict | None = None) -> Prepared:
    clock = StageClock(timings)
    with clock("normalise"):
        arr = np.asarray(image)
        if arr.dtype == object:  # None, or something that is not an array of numbers
            raise TypeError("segment: image must be an (H, W) or (H, W, 3) array of numbers or "
                            f"an image file path, got {type(image).__name__}")
        img = validate_image(arr)
        norm = normalize(img, config["in_channels"])
    h, w = img.shape[:2]
    plan = TilePlan.create((h, w), tile_size if tile_size is not None else config.get("tile", 0),
                           config["object_halo"], config["context"], config["align"])
    params = params or PostprocessParams.from_dict(config["postprocess"])
    return Prepared(norm, img.reshape(h, w, -1), plan, list(plan), config, params,
                    clock.timings, [None] * len(plan))


def fill_input(dst: np.ndarray, prep: Prepared, tile: Tile) -> None:
    """Write the tile's net window, channels first and zero-padded to `align`, into dst (C, h, w):
    the same padding a whole-image run gets at the image edge, so tiles and whole agree."""
    y0, x0, y1, x1 = tile.net
    dst[:, : y1 - y0, : x1 - x0] = prep.norm[y0:y1, x0:x1].transpose(2, 0, 1)
    dst[:, y1 - y0:, :] = 0.0
    dst[:, : y1 - y0, x1 - x0:] = 0.0


def tile_maps(out: dict, i: int, tile: Tile):
    """Batch item i of the network outputs, cropped to the tile's region."""
    y0, x0 = tile.net[:2]
    ry0, rx0, ry1, rx1 = tile.region
    win = (slice(ry0 - y0, ry1 - y0), slice(rx0 - x0, rx1 - x0))
    fg = out["fg_prob"][i, 0][win]
    dist = out["dist"][i][(slice(None), *win)]
    tp = out["type_prob"][i][(slice(None), *win)] if "type_prob" in out else None
    return fg, dist, tp


def postprocess_tile(prep: Prepared, tile: Tile, maps) -> None:
    """Instances of the tile's region that this tile owns, into prep.parts[tile.index]. Safe to
    run for different tiles of one image on several threads at once."""
    t0 = time.perf_counter()
    fg, dist, tp = maps
    ry0, rx0, ry1, rx1 = tile.region
    lab, table = instances_from_maps(fg, dist, tp, prep.params,
                                     intensity=prep.raw[ry0:ry1, rx0:rx1])
    ids = np.asarray(table["label"])
    first = _first_pixels(lab, ids, np.asarray(table["bbox"]).reshape(-1, 4))
    keep, cut = _owned_instances(ids, first, fg > prep.params.fg_threshold, tile,
                                 prep.norm.shape[:2], prep.params.connectivity)
    keep_ids, first = ids[keep], first[keep]
    # An instance lies wholly inside the region, and raster order inside a rectangle is the
    # image's raster order, so its first region pixel is its first image pixel.
    rw = rx1 - rx0
    first = (first // rw + ry0) * prep.norm.shape[1] + (first % rw + rx0)
    part = {k: np.asarray(v)[keep] for k, v in table.items()}
    part["bbox"] = part["bbox"] + np.array([ry0, rx0, ry0, rx0])
    part["centroid"] = part["centroid"] + np.array([ry0, rx0], dtype=np.float64)
    # The time goes with the part (summed in stitch): a shared dict += from threads would race.
    prep.parts[tile.index] = (lab, keep_ids, first, part, cut, time.perf_counter() - t0)


def _first_pixels(labels: np.ndarray, ids: np.ndarray, bbox: np.ndarray) -> np.ndarray:
    """Raster index of each instance's first pixel: in its bounding box's top row, the leftmost
    pixel that is its own (a few microseconds per instance, no sort of the whole image)."""
    w = labels.shape[1]
    out = np.empty(len(ids), dtype=np.int64)
    for k, (i, (r, c0, _, c1)) in enumerate(zip(ids.tolist(), bbox.tolist())):
        out[k] = r * w + c0 + int(np.argmax(labels[r, c0:c1] == i))
    return out


def _owned_instances(ids: np.ndarray, first: np.ndarray, mask: np.ndarray, tile: Tile, shape,
                     connectivity) -> tuple[np.ndarray, int]:
    """Which of the region's instances (ids, with their first-pixel indices) this tile keeps
    (a boolean row mask), and how many kept ones are cut by the region's edge."""
    h, w = shape
    ry0, rx0, ry1, rx1 = tile.region
    comps = ops.label(mask, connectivity=connectivity)
    cp = ops.regionprops(comps)
    bb = np.asarray(cp["bbox"]).reshape(-1, 4)
    cy0, cx0, cy1, cx1 = tile.core
    gy, gx = bb[:, 0] + ry0, bb[:, 1] + rx0
    anchored = (gy >= cy0) & (gy < cy1) & (gx >= cx0) & (gx < cx1)
    touches = (((bb[:, 0] == 0) & (ry0 > 0)) | ((bb[:, 1] == 0) & (rx0 > 0))
               | ((bb[:, 2] == ry1 - ry0) & (ry1 < h)) | ((bb[:, 3] == rx1 - rx0) & (rx1 < w)))
    comp_ids = np.asarray(cp["label"])
    keep_comp = np.zeros(int(comps.max()) + 1, dtype=bool)
    keep_comp[comp_ids[anchored]] = True
    cut_comp = np.zeros_like(keep_comp)
    cut_comp[comp_ids[anchored & touches]] = True
    # Each instance lies in one foreground component, and its first pixel is in the mask.
    owner_comp = comps.ravel()[first]
    keep = keep_comp[owner_comp]
    return keep, int(np.count_nonzero(cut_comp[owner_comp[keep]]))


def stitch(prep: Prepared) -> SegmentResult:
    """Global labels from every tile's owned instances, numbered 1..N in raster order of each
    instance's first pixel (so tiled and whole-image runs give identical labels)."""
    with StageClock(prep.timings)("stitch"):
        h, w = prep.norm.shape[:2]
        firsts = [p[2] for p in prep.parts]
        rank = np.empty(sum(len(f) for f in firsts), dtype=np.int32)
        rank[np.argsort(np.concatenate(firsts), kind="stable")] = np.arange(1, len(rank) + 1)
        labels = np.zeros((h, w), dtype=np.int32)
        parts, offset, n_cut = [], 0, 0
        for tile, (lab, keep_ids, first, part, cut, seconds) in zip(prep.tiles, prep.parts):
            prep.timings["postprocess"] = prep.timings.get("postprocess", 0.0) + seconds
            ry0, rx0, ry1, rx1 = tile.region
            new = rank[offset:offset + len(keep_ids)]
            offset += len(keep_ids)
            lut = np.zeros(int(lab.max()) + 1, dtype=np.int32)
            lut[keep_ids] = new
            mapped = lut[lab]
            np.copyto(labels[ry0:ry1, rx0:rx1], mapped, where=mapped > 0)
            # Table rows come in ascending label order, as keep_ids do.
            part["id"] = new
            del part["label"]
            parts.append(part)
            n_cut += cut
        result = _table(labels, parts, prep.config, n_cut)
    result.timings = prep.timings
    return result


def segment_image(image: np.ndarray, backend, config: dict, tile_size: int | None = None,
                  params: PostprocessParams | None = None) -> SegmentResult:
    """One image, one tile at a time (cellrt.Engine batches tiles and reuses buffers)."""
    prep = prepare(image, config, tile_size, params)
    for tile in prep.tiles:
        postprocess_tile(prep, tile, run_tile(backend, prep, tile))
    return stitch(prep)


def run_tile(backend, prep: Prepared, tile: Tile):
    """The network on one tile (batch of one): its dense maps cropped to the tile's region."""
    with StageClock(prep.timings)("network"):
        x = np.empty((1, prep.norm.shape[2], *prep.plan.net_shape(tile)), np.float32)
        fill_input(x[0], prep, tile)
        return tile_maps(backend.run(x), 0, tile)


def _table(labels: np.ndarray, parts: list[dict], config: dict, n_cut: int) -> SegmentResult:
    """The object table: every tile's rows, sorted by instance id."""
    # Every tile's table has every column, with 0 rows where it found nothing, so an image
    # without nuclei gets the same columns (mean_intensity (0, C) included) as any other: a
    # screen concatenates the tables of its empty fields with the rest.
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    idx = np.argsort(cols["id"])
    table = {k: v[idx] for k, v in cols.items()}
    if "class" not in table:
        table["class"] = np.ones(len(table["id"]), dtype=np.int32)
    return SegmentResult(labels, table, list(config.get("class_names", ["nucleus"])), n_cut)
