"""Post-processing parameters tuned on a validation split (never on test): the network runs once
per image, then every parameter combination is scored from the cached dense maps."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np

from cellrt import ops
from cellrt.engine.rescale import resize, sample_labels
from cellrt.engine.segment import prepare, run_tile
from cellrt.families.boundary import BoundaryFamily
from cellrt.families.boundary.postprocess import (PostprocessParams, instances_from_maps,
                                                  pixel_classes)
from cellrt.families.boundary.upscale import scaled_params
from cellrt.io.datasets import image_path, read_split
from cellrt.io.images import read_image
from cellrt.metrics import DatasetMetrics
from cellrt.runtime.onnx_backend import OnnxRuntimeBackend
from cellrt.runtime.package import ModelPackage

def silent(line: str) -> None:
    """The default `log` of the tuning functions: progress lines go nowhere (the command-line
    tools pass print)."""


# One grid per marker rule (cellrt.families.boundary.postprocess): the parameters it reads.
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
    "vote_maxima": {
        "fg_threshold": [0.4, 0.5, 0.6],
        "vote_sigma": [1.5, 2.0, 2.5],
        "vote_threshold": [0.5, 1.0, 1.5],
        "vote_h": [1.0, 1.5, 2.0, 3.0],
        "min_size": [16, 32, 48],
    },
}


def _maps(backend, family: BoundaryFamily, image: np.ndarray):
    """Whole-image (fg, dist, type_prob or None) maps of one image (the tiled run gives the same
    maps)."""
    prep = prepare(image, family, tile_size=0)
    maps = run_tile(backend, prep, prep.tiles[0])
    return maps["fg_prob"][0], maps["dist"], maps.get("type_prob")


def split_maps(package_path: str | Path, data: str | Path, split: str, op: str = "tune") -> list:
    """[(image id, true labels, (fg, dist, type_prob))] of every image of `split`: the network's
    whole-image maps, which the tuning stages share (only post-processing differs between
    them). `op` names the caller in the error for the test split."""
    import tifffile

    _refuse_test(split, op)
    pkg = ModelPackage.load(package_path)
    backend = OnnxRuntimeBackend(pkg)
    family = BoundaryFamily(pkg.config)
    root = Path(data)
    return [(sid, tifffile.imread(root / "labels" / f"{sid}.tif"),
             _maps(backend, family, read_image(image_path(root, sid))))
            for sid in read_split(root, [split])]


def _refuse_test(split: str, op: str) -> None:
    if split == "test":
        raise ValueError(f"{op}: refusing to tune on the 'test' split")


def _cached_maps(package_path: str | Path, data: str | Path, split: str, op: str,
                 maps: list | None):
    """(package, `maps` or split_maps(...) when None)."""
    _refuse_test(split, op)
    if maps is None:
        maps = split_maps(package_path, data, split, op)
    return ModelPackage.load(package_path), maps


# Where a parameter's best value sits on an edge of its grid, the search goes on past it in the
# grid's outermost step, one parameter at a time, while that gains (at most MAX_EDGE_STEPS rounds);
# the ranges say where each parameter stays valid: (low, high) exclusive, integer or not.
EDGE_LIMITS = {
    "fg_threshold": (0.0, 1.0, False),
    "marker_threshold": (0.0, 1.0, False),
    "vote_sigma": (0.0, float("inf"), False),
    "vote_threshold": (0.0, float("inf"), False),
    "vote_h": (0.0, float("inf"), False),
    "min_size": (-1, float("inf"), True),
    "min_marker_size": (-1, float("inf"), True),
}
MAX_EDGE_STEPS = 6


def _past_edge(key: str, tried: list, at_max: bool):
    """The next value past the edge of `tried` (sorted, >= 2 values), or None outside the
    parameter's valid range."""
    step = tried[-1] - tried[-2] if at_max else tried[1] - tried[0]
    value = tried[-1] + step if at_max else tried[0] - step
    low, high, integer = EDGE_LIMITS[key]
    value = int(value) if integer else round(float(value), 6)
    return value if low < value < high else None


def tune(package_path: str | Path, data: str | Path, split: str = "val",
         grid: dict | None = None, log=silent,
         markers: str | None = None, extend_edges: bool = True,
         maps: list | None = None) -> tuple[PostprocessParams, dict]:
    """Grid search; the objective is the mean of pooled AP@0.5 and PQ on `split`. `markers`
    tunes that marker rule instead of the package's (its other parameters are the start).
    With `extend_edges`, a best value on the edge of its grid is followed past it (EDGE_LIMITS);
    the record's "extended" lists the values tried beyond the grid. `maps`: split_maps(...) of
    this package on `split`, if already computed."""
    pkg, cached = _cached_maps(package_path, data, split, "tune", maps)
    base = PostprocessParams.from_dict(pkg.config.postprocess)
    if markers is not None:
        base = replace(base, markers=markers)
    grid = grid or GRIDS[base.markers]

    def score(params: PostprocessParams) -> tuple[float, str]:
        dm = DatasetMetrics(thresholds=[0.5])
        for _, truth, (fg, dist, tp) in cached:
            dm.add(truth, instances_from_maps(fg, dist, tp, params)[0])
        r = dm.result()
        return 0.5 * (float(r.ap.ap[0]) + r.pq.pq), f"AP50 {r.ap.ap[0]:.4f} PQ {r.pq.pq:.4f}"

    best, best_score = base, -1.0
    for values in itertools.product(*grid.values()):
        params = replace(base, **dict(zip(grid.keys(), values)))
        s, text = score(params)
        if s > best_score:
            best, best_score = params, s
            log(f"tune: {dict(zip(grid.keys(), values))} {text}")
    tried = {k: sorted(set(v)) for k, v in grid.items() if k in EDGE_LIMITS and len(set(v)) > 1}
    extended: dict[str, list] = {}
    for _ in range(MAX_EDGE_STEPS if extend_edges else 0):
        gained = False
        for key, values in tried.items():
            current = getattr(best, key)
            if current not in (values[0], values[-1]):
                continue
            value = _past_edge(key, values, at_max=current == values[-1])
            if value is None:
                continue
            values.append(value)
            values.sort()
            extended.setdefault(key, []).append(value)
            params = replace(best, **{key: value})
            s, text = score(params)
            if s > best_score:
                best, best_score, gained = params, s, True
                log(f"tune: past the grid's edge, {key} {value}: {text}")
        if not gained:
            break
    return best, {"objective": "mean of pooled AP@0.5 and PQ", "split": split,
                  "best": best.to_dict(), "score": round(best_score, 4), "extended": extended}


# Multipliers tried for each class's type probability (the most frequent class stays at 1).
TYPE_WEIGHTS = [0.5, 0.7, 1.0, 1.4, 2.0, 4.0]


# A class with fewer true instances than this in the tuning split keeps weight 1 and is left out
# of the objective: its PQ there is noise (CoNSeP val holds 2 "other" nuclei against 384-865 of
# each other class).
MIN_CLASS_INSTANCES = 30


def tune_type_weights(package_path: str | Path, data: str | Path, split: str = "val",
                      values=TYPE_WEIGHTS, min_gain: float = 0.002, log=silent,
                      min_instances: int = MIN_CLASS_INSTANCES, maps: list | None = None) -> dict:
    """Per-class multipliers of the type probabilities (PostprocessParams.type_weights) that
    maximise pooled multi-class PQ (mPQ+) on `split`, with the package's post-processing: a
    network trained with class imbalance under-calls its rare classes, and a prior correction
    on val is the cheapest fix. The instances do not change, only their classes. The most
    frequent true class of `split` keeps weight 1 (only ratios matter), and so does every class
    with fewer than `min_instances` true instances in `split`, which the objective leaves out
    (mPQ+ over the other classes); a gain over all-1 below `min_gain` counts as noise: None
    then. Returns {"type_weights", "score", "score_without", "scored_classes",
    "tuned_classes"} (classes 1-based). `maps`: split_maps(...) of this package on `split`, if
    already computed."""
    import tifffile

    pkg, cached = _cached_maps(package_path, data, split, "tune_type_weights", maps)
    params = replace(PostprocessParams.from_dict(pkg.config.postprocess), type_weights=None)
    root = Path(data)
    images = []  # (truth, true classes, instance labels, type probabilities)
    pixels = instances = None
    for sid, truth, (fg, dist, tp) in cached:
        if tp is None:
            raise ValueError(f"tune_type_weights: {pkg.path} has no type head")
        true_classes = tifffile.imread(root / "classes" / f"{sid}.tif")
        # The weights change only the classes: the instances are segmented once.
        images.append((truth, true_classes, instances_from_maps(fg, dist, tp, params)[0], tp))
        k = tp.shape[0]
        fgm = truth > 0
        hits = np.bincount(true_classes[fgm].ravel(), minlength=k + 1)[1:k + 1]
        # (instance, class) pairs: an instance counts once per class it holds pixels of.
        pairs = np.unique(np.stack([truth[fgm].astype(np.int64),
                                    true_classes[fgm].astype(np.int64)]), axis=1)
        held = np.bincount(pairs[1], minlength=k + 1)[1:k + 1]
        pixels = hits if pixels is None else pixels + hits
        instances = held if instances is None else instances + held
    anchor = int(np.argmax(pixels))
    tuned = [c for c in range(k) if instances[c] >= min_instances and c != anchor]
    scored = [c + 1 for c in range(k) if instances[c] >= min_instances] or list(range(1, k + 1))
    if len(scored) < k:
        log(f"tune_type_weights: classes {[c for c in range(1, k + 1) if c not in scored]} have "
            f"fewer than {min_instances} instances in {split}: weight 1, not scored")

    def score(weights) -> float:
        dm = DatasetMetrics(thresholds=[0.5], classes=scored)
        for truth, true_classes, lab, tp in images:
            table = ops.regionprops(lab, classes=pixel_classes(lab, tp, weights))
            lut = np.zeros(int(lab.max()) + 1, np.int64)
            lut[np.asarray(table["label"])] = table["class"]
            dm.add(truth, lab, true_classes=true_classes, pred_classes=lut)
        return float(dm.result().multiclass.mpq)

    without = score([1.0] * k)
    best, best_score = None, without
    for combo in itertools.product(values, repeat=len(tuned)):
        weights = [1.0] * k
        for c, w in zip(tuned, combo):
            weights[c] = float(w)
        s = score(weights)
        if s > best_score:
            best, best_score = weights, s
            log(f"tune_type_weights: {weights} mPQ+ {s:.4f}")
    if best is None or best_score - without < min_gain:
        best, best_score = None, without
    return {"type_weights": best, "score": round(best_score, 4),
            "score_without": round(without, 4), "scored_classes": scored,
            "tuned_classes": [c + 1 for c in tuned]}


# Median-area thresholds tried for the small-nuclei upscale rule (0: never upscale).
UPSCALE_THRESHOLDS = [0, 80, 110, 140, 170, 200, 250, 300]


def tune_upscale(package_path: str | Path, data: str | Path, split: str = "val",
                 factor: int = 2, thresholds=UPSCALE_THRESHOLDS, min_gain: float = 0.002,
                 log=silent, maps: list | None = None) -> dict:
    """The `upscale` rule (cellrt.families.boundary.upscale) that maximises the tuning objective on
    `split` with the package's post-processing; ties go to the lower threshold (fewer second
    passes), and a gain over never upscaling (threshold 0, always tried) below `min_gain` counts
    as noise: 0 then. `maps`: split_maps(...) of this package on `split`, if already computed
    (the enlarged passes run here either way). Returns {"below_median_area", "factor", "score",
    "score_without"}."""
    pkg, cached = _cached_maps(package_path, data, split, "tune_upscale", maps)
    thresholds = sorted(set(thresholds) | {0})
    backend = None  # for the enlarged passes, made at the first
    family = BoundaryFamily(pkg.config)
    params = family.params
    big_params = scaled_params(params, factor)
    images = []  # (truth, labels at 1x, median area at 1x, labels of the 2x pass or None)
    for sid, truth, (fg, dist, tp) in cached:
        lab = instances_from_maps(fg, dist, tp, params)[0]
        areas = np.bincount(lab.ravel())[1:]
        median = float(np.median(areas[areas > 0])) if lab.max() > 0 else float("inf")
        up = None
        if median < max(thresholds):
            backend = backend or OnnxRuntimeBackend(pkg)
            img = read_image(image_path(Path(data), sid))
            raw = img.reshape(*img.shape[:2], -1)
            fg, dist, tp = _maps(backend, family, resize(raw, factor))
            up = sample_labels(instances_from_maps(fg, dist, tp, big_params)[0],
                               raw.shape[:2])[0]
        images.append((truth, lab, median, up))
    scores = {}
    for thr in thresholds:
        dm = DatasetMetrics(thresholds=[0.5])
        for truth, lab, median, up in images:
            dm.add(truth, up if up is not None and median < thr else lab)
        r = dm.result()
        scores[thr] = 0.5 * (float(r.ap.ap[0]) + r.pq.pq)
        log(f"tune_upscale: below_median_area {thr}: AP50 {r.ap.ap[0]:.4f} PQ {r.pq.pq:.4f}")
    best = max(thresholds, key=lambda t: (round(scores[t], 6), -t))
    without = scores.get(0, -1.0)
    if scores[best] - without < min_gain:
        best = 0
    return {"below_median_area": best, "factor": factor, "score": round(scores[best], 4),
            "score_without": round(without, 4)}
