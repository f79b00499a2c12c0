"""Segment one image with a model package: normalise (whole image) -> tiles -> network ->
post-process each tile's region -> keep the instances each tile owns -> global labels + table.

The tiled result equals the whole-image result (see cellrt.pipeline.tiling for why); the final
labels are numbered in raster order of each instance's first pixel, so the two are identical,
not merely equal up to renumbering.
"""

from __future__ import annotations

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

    @property
    def count(self) -> int:
        return len(self.table["id"])


def _pad_to(x: np.ndarray, multiple: int) -> np.ndarray:
    h, w = x.shape[-2:]
    return np.pad(x, ((0, 0), (0, (-h) % multiple), (0, (-w) % multiple)))


def _tile_maps(backend, norm: np.ndarray, tile: Tile, align: int):
    """Network on the tile's net window; dense maps cropped to its region."""
    y0, x0, y1, x1 = tile.net
    x = _pad_to(np.ascontiguousarray(norm[y0:y1, x0:x1].transpose(2, 0, 1)), align)
    out = backend.run(x[None])
    ry0, rx0, ry1, rx1 = tile.region
    win = (slice(ry0 - y0, ry1 - y0), slice(rx0 - x0, rx1 - x0))
    fg = out["fg_prob"][0, 0][win]
    dist = out["dist"][0][(slice(None), *win)]
    tp = out["type_prob"][0][(slice(None), *win)] if "type_prob" in out else None
    return fg, dist, tp


def _owned_instances(labels: np.ndarray, mask: np.ndarray, tile: Tile, shape, connectivity):
    """Instance ids (of this region's labels) the tile keeps, and how many of them are cut."""
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
    # Each instance lies in one foreground component; its first raster pixel is in the mask.
    ids, first = np.unique(labels.ravel(), return_index=True)
    first, ids = first[ids > 0], ids[ids > 0]
    owner_comp = comps.ravel()[first]
    keep = keep_comp[owner_comp]
    cut_comp = set(comp_ids[anchored & touches].tolist())
    n_cut = int(sum(1 for c in owner_comp[keep] if c in cut_comp))
    return ids[keep], n_cut


def segment_image(image: np.ndarray, backend, config: dict, tile_size: int | None = None,
                  params: PostprocessParams | None = None) -> SegmentResult:
    img = validate_image(np.asarray(image))
    params = params or PostprocessParams.from_dict(config["postprocess"])
    norm = normalize(img, config["in_channels"])
    raw = img.reshape(*img.shape[:2], -1)
    h, w = img.shape[:2]
    plan = TilePlan.create((h, w), tile_size if tile_size is not None else config.get("tile", 0),
                           config["object_halo"], config["context"], config["align"])
    labels = np.zeros((h, w), dtype=np.int32)
    parts: list[dict] = []
    next_id, n_cut = 1, 0
    for tile in plan:
        fg, dist, tp = _tile_maps(backend, norm, tile, config["align"])
        ry0, rx0, ry1, rx1 = tile.region
        lab, table = instances_from_maps(fg, dist, tp, params, intensity=raw[ry0:ry1, rx0:rx1])
        keep_ids, cut = _owned_instances(lab, fg > params.fg_threshold, tile, (h, w),
                                         params.connectivity)
        n_cut += cut
        lut = np.zeros(int(lab.max()) + 1, dtype=np.int32)
        lut[keep_ids] = np.arange(next_id, next_id + len(keep_ids), dtype=np.int32)
        view = labels[ry0:ry1, rx0:rx1]
        mapped = lut[lab]
        sel = mapped > 0
        view[sel] = mapped[sel]
        rows = np.isin(np.asarray(table["label"]), keep_ids)
        part = {k: np.asarray(v)[rows] for k, v in table.items()}
        part["label"] = lut[part["label"]]
        part["bbox"] = part["bbox"] + np.array([ry0, rx0, ry0, rx0])
        part["centroid"] = part["centroid"] + np.array([ry0, rx0], dtype=np.float64)
        parts.append(part)
        next_id += len(keep_ids)
    return _canonical(labels, parts, config, n_cut)


def _canonical(labels: np.ndarray, parts: list[dict], config: dict, n_cut: int) -> SegmentResult:
    """Renumber instances in raster order of their first pixel and build the final table."""
    n = int(labels.max())
    ids, first = np.unique(labels.ravel(), return_index=True)
    first, ids = first[ids > 0], ids[ids > 0]
    order = ids[np.argsort(first, kind="stable")]
    lut = np.zeros(n + 1, dtype=np.int32)
    lut[order] = np.arange(1, len(order) + 1, dtype=np.int32)
    labels = lut[labels]
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {}
    table: dict = {}
    if cols and len(cols["label"]):
        new = lut[cols["label"]]
        idx = np.argsort(new)
        table = {k: v[idx] for k, v in cols.items()}
        table["id"] = new[idx]
        del table["label"]
    else:
        table = {"id": np.zeros(0, np.int32), "area": np.zeros(0, np.int64),
                 "bbox": np.zeros((0, 4), np.int64), "centroid": np.zeros((0, 2)),
                 "score": np.zeros(0, np.float32)}
    if "class" not in table:
        table["class"] = np.ones(len(table["id"]), dtype=np.int32)
    return SegmentResult(labels, table, list(config.get("class_names", ["nucleus"])), n_cut)
