"""Post-processing parameters tuned on a validation split (never on test): the network runs once
per image, then every parameter combination is scored from the cached dense maps."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from cellrt.pipeline.postprocess import PostprocessParams, instances_from_maps

# One grid per marker rule (cellrt.pipeline.postprocess): the parameters that rule reads.
GRIDS = {
    "centerness": {
        "fg_threshold": [0.3, 0.4, 0.5, 0.6, 0.7],
        "marker_threshold": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
        "min_size": [8, 16, 32, 48],
    },
    "votes": {
        "fg_threshold": [0.4, 0.5, 0.6, 0.7],
        "vote_sigma": [1.5, 2.0, 2.5],
        "vote_threshold": [0.5, 0.75, 1.0, 1.5, 2.0],
        "min_size": [8, 16, 32, 48],
    },
}


def _maps(backend, config: dict, image: np.ndarray):
    """Whole-image dense maps of one image (the tiled run gives the same maps)."""
    from cellrt.pipeline.segment import prepare, run_tile

    prep = prepare(image, config, tile_size=0)
    return run_tile(backend, prep, prep.tiles[0])


def tune(package_path: str | Path, data: str | Path, split: str = "val",
         grid: dict | None = None, log=print) -> tuple[PostprocessParams, dict]:
    """Grid search; the objective is the mean of pooled AP@0.5 and PQ on `split`."""
    import tifffile

    from cellrt.io.images import read_image
    from cellrt.metrics import DatasetMetrics
    from cellrt.runtime.onnx_backend import OnnxRuntimeBackend
    from cellrt.runtime.package import ModelPackage
    from cellrt.train.data import image_path, read_split

    if split == "test":
        raise ValueError("tune: refusing to tune on the 'test' split")
    pkg = ModelPackage.load(package_path)
    backend = OnnxRuntimeBackend(pkg)
    root = Path(data)
    cached = []
    for sid in read_split(root, [split]):
        truth = tifffile.imread(root / "labels" / f"{sid}.tif")
        cached.append((truth, _maps(backend, pkg.config, read_image(image_path(root, sid)))))
    base = PostprocessParams.from_dict(pkg.config["postprocess"])
    grid = grid or GRIDS[base.markers]
    best, best_score, results = base, -1.0, {}
    for values in itertools.product(*grid.values()):
        params = replace(base, **dict(zip(grid.keys(), values)))
        dm = DatasetMetrics(thresholds=[0.5])
        for truth, (fg, dist, tp) in cached:
            dm.add(truth, instances_from_maps(fg, dist, tp, params)[0])
        r = dm.result()
        score = 0.5 * (float(r.ap.ap[0]) + r.pq.pq)
        results[str(values)] = {"ap50": round(float(r.ap.ap[0]), 4), "pq": round(r.pq.pq, 4)}
        if score > best_score:
            best, best_score = params, score
            log(f"tune: {dict(zip(grid.keys(), values))} AP50 {r.ap.ap[0]:.4f} PQ {r.pq.pq:.4f}")
    return best, {"objective": "mean of pooled AP@0.5 and PQ", "split": split,
                  "best": best.to_dict(), "score": round(best_score, 4)}
