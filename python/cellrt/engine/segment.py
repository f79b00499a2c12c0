"""Segment one image with a bound model family: prepare (validate, normalise the whole image,
plan tiles) -> network per tile -> decode each tile's region and keep the instances it owns ->
stitch global labels + table.

The tiled result equals the whole-image result (cellrt.engine.tiling, cellrt.engine.ownership);
the final labels are numbered in raster order of each instance's first pixel, so the two are
identical, not merely equal up to renumbering. Each step returns its result: tiles can be decoded
on several threads at once without sharing mutable state.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from cellrt.engine.ownership import first_pixels, owned_instances
from cellrt.engine.result import SegmentResult, StageClock
from cellrt.engine.tiling import Tile, TilePlan
from cellrt.families import Family
from cellrt.io.images import validate_image
from cellrt.io.table import ObjectTable


@dataclass
class Prepared:
    """One image ready for the network: validated, normalised, planned into tiles."""

    norm: np.ndarray  # (H, W, C) float32, whole-image normalisation
    raw: np.ndarray  # (H, W, C) original intensities, measured per object
    plan: TilePlan
    tiles: list[Tile]
    family: Family
    timings: dict = field(default_factory=dict)
    scale: float = 1.0  # != 1: norm and raw are the image resized by it; `source` the original
    source: np.ndarray | None = None  # (H, W, C) original intensities when scale != 1
    probes: list | None = None  # [(probe scale, median diameter there)] of the scale rule
    settled: bool = False  # the probes settled the scale: no later rule changes it


@dataclass
class TileResult:
    """The instances one tile owns, ready to stitch."""

    labels: np.ndarray  # (h, w) the region's labels, region-local ids
    keep_ids: np.ndarray  # region-local ids of the owned instances, ascending
    first: np.ndarray  # image raster index of each owned instance's first pixel
    table: ObjectTable  # owned instances' rows (image coordinates), in keep_ids order
    cut: int  # owned instances cut by the region's edge
    seconds: float  # decoding time


def prepare(image, family: Family, tile_size: int | None = None,
            timings: dict | None = None) -> Prepared:
    """Validate and normalise `image` and plan its tiles (tile_size None: the family's default;
    0: one tile)."""
    clock = StageClock(timings)
    with clock("normalise"):
        arr = np.asarray(image)
        if arr.dtype == object:  # None, or something that is not an array of numbers
            raise TypeError("segment: image must be an (H, W) or (H, W, 3) array of numbers or "
                            f"an image file path, got {type(image).__name__}")
        img = validate_image(arr)
        norm = family.prepare_input(img)
    h, w = img.shape[:2]
    geo = family.geometry()
    plan = TilePlan.create((h, w), tile_size if tile_size is not None else geo.tile,
                           geo.object_halo, geo.context, geo.align)
    return Prepared(norm, img.reshape(h, w, -1), plan, list(plan), family, clock.timings)


def fill_input(dst: np.ndarray, prep: Prepared, tile: Tile) -> None:
    """Write the tile's net window, channels first and zero-padded to `align`, into dst (C, h, w):
    the same padding a whole-image run gets at the image edge, so tiles and whole agree."""
    y0, x0, y1, x1 = tile.net
    dst[:, : y1 - y0, : x1 - x0] = prep.norm[y0:y1, x0:x1].transpose(2, 0, 1)
    dst[:, y1 - y0:, :] = 0.0
    dst[:, : y1 - y0, x1 - x0:] = 0.0


def tile_maps(out: dict, i: int, tile: Tile) -> dict[str, np.ndarray]:
    """Batch item i of the network outputs, each (K, h, w) cropped to the tile's region."""
    y0, x0 = tile.net[:2]
    ry0, rx0, ry1, rx1 = tile.region
    win = (slice(None), slice(ry0 - y0, ry1 - y0), slice(rx0 - x0, rx1 - x0))
    return {name: value[i][win] for name, value in out.items()}


def decode_tile(prep: Prepared, tile: Tile, maps: dict[str, np.ndarray]) -> TileResult:
    """The instances of the tile's region that this tile owns."""
    t0 = time.perf_counter()
    ry0, rx0, ry1, rx1 = tile.region
    dec = prep.family.decode(maps, intensity=prep.raw[ry0:ry1, rx0:rx1])
    ids = dec.table["id"]
    first = first_pixels(dec.labels, ids, dec.table["bbox"])
    keep, cut = owned_instances(first, dec.support, dec.connectivity, tile, prep.norm.shape[:2])
    # An instance lies wholly inside the region, and raster order inside a rectangle is the
    # image's raster order, so its first region pixel is its first image pixel.
    rw = rx1 - rx0
    first = first[keep]
    first = (first // rw + ry0) * prep.norm.shape[1] + (first % rw + rx0)
    table = dec.table.take(keep).shifted(ry0, rx0)
    return TileResult(dec.labels, ids[keep], first, table, cut, time.perf_counter() - t0)


def stitch(prep: Prepared, results: list[TileResult]) -> SegmentResult:
    """Global labels from every tile's owned instances (results in prep.tiles order), numbered
    1..N in raster order of each instance's first pixel (so tiled and whole-image runs give
    identical labels)."""
    with StageClock(prep.timings)("stitch"):
        h, w = prep.norm.shape[:2]
        rank = np.empty(sum(len(r.first) for r in results), dtype=np.int32)
        rank[np.argsort(np.concatenate([r.first for r in results]), kind="stable")] = \
            np.arange(1, len(rank) + 1)
        labels = np.zeros((h, w), dtype=np.int32)
        tables, offset, n_cut = [], 0, 0
        for tile, r in zip(prep.tiles, results):
            prep.timings["postprocess"] = prep.timings.get("postprocess", 0.0) + r.seconds
            ry0, rx0, ry1, rx1 = tile.region
            new = rank[offset:offset + len(r.keep_ids)]
            offset += len(r.keep_ids)
            lut = np.zeros(int(r.labels.max()) + 1, dtype=np.int32)
            lut[r.keep_ids] = new
            mapped = lut[r.labels]
            np.copyto(labels[ry0:ry1, rx0:rx1], mapped, where=mapped > 0)
            tables.append(r.table.replace(id=new))
            n_cut += r.cut
        # Every tile's table has every column, with 0 rows where it found nothing, so an image
        # without nuclei gets the same columns as any other.
        table = ObjectTable.concat(tables)
        table = table.take(np.argsort(table["id"]))
    return SegmentResult(labels, table, n_cut, prep.timings)


def run_tile(backend, prep: Prepared, tile: Tile) -> dict[str, np.ndarray]:
    """The network on one tile (batch of one): its dense maps cropped to the tile's region."""
    with StageClock(prep.timings)("network"):
        x = np.empty((1, prep.norm.shape[2], *prep.plan.net_shape(tile)), np.float32)
        fill_input(x[0], prep, tile)
        return tile_maps(backend.run(x), 0, tile)


def segment_image(image, backend, family: Family, tile_size: int | None = None) -> SegmentResult:
    """One image, one tile at a time, one pass (cellrt.Engine batches tiles, reuses buffers and
    runs the family's second pass)."""
    prep = prepare(image, family, tile_size)
    return stitch(prep, [decode_tile(prep, t, run_tile(backend, prep, t)) for t in prep.tiles])
