"""The tuning stages of a model package, shared by tools/build_shipped_model.py (a new network)
and tools/retune_package.py (a shipped one): on the val split, the post-processing, then with it
the small-nuclei upscale rule, then (models with a type head) the class-prior correction; and the
fp32 test score a model card records. Each stage reads a trial package written to `trial`, so
the network runs through the same code as `cellrt segment`; the caller decides, on the val
scores, what is kept, before the test split is scored. The network's val maps are computed once
(val_maps) and shared by the stages: only the post-processing differs between them."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

from cellrt.calibrate.evaluate import evaluate, report_lines
from cellrt.calibrate.tune import silent, split_maps, tune, tune_type_weights, tune_upscale
from cellrt.families.boundary.postprocess import PostprocessParams
from cellrt.runtime.package import ModelPackage, write_package


def editable_config(pkg: ModelPackage) -> dict:
    """A deep copy of the package's config as a dict, without the format version
    (write_package adds it)."""
    return {k: v for k, v in copy.deepcopy(pkg.config.to_dict()).items() if k != "format_version"}


def write_trial(pkg: ModelPackage, config: dict, trial: Path) -> Path:
    """The package's network with `config`, at `trial`."""
    return write_package(trial, config, pkg.onnx_bytes, pkg.weights)


def val_maps(pkg: ModelPackage, data: str | Path) -> list:
    """The network's maps of every val image, for the `maps` argument of the stages below."""
    return split_maps(pkg.path, data, "val")


def tune_segmentation(pkg: ModelPackage, config: dict, data: str | Path, trial: Path, *,
                      record: dict | None = None, postprocess: bool = True,
                      upscale: bool = True, markers: str | None = None,
                      grid: dict | None = None, maps: list | None = None,
                      log=silent) -> tuple[dict, dict]:
    """(a copy of `config` with the tuned "postprocess" and "upscale", its tuning record). The
    record starts from `record` (e.g. the card's); its "score" is the val objective (mean of
    pooled AP@0.5 and PQ) with every stage that ran. `markers` tunes that marker rule instead of
    the package's; `grid` replaces the rule's grid (cellrt.calibrate.tune.GRIDS); `maps` is
    val_maps(pkg, data) (computed here when None)."""
    config = copy.deepcopy(config)
    maps = val_maps(pkg, data) if maps is None else maps
    record = dict(record or {})
    if postprocess:
        best, found = tune(pkg.path, data, "val", grid=grid, log=log, markers=markers,
                           maps=maps)
        # Classes are tuned by their own stage: a new marker rule keeps the class correction.
        kept = PostprocessParams.from_dict(config["postprocess"]).type_weights
        config["postprocess"] = replace(best, type_weights=kept).to_dict()
        record = {**found, **({"type_weights": record["type_weights"]}
                              if "type_weights" in record else {})}
    if upscale:
        rule = tune_upscale(write_trial(pkg, config, trial), data, "val", log=log,
                            maps=maps)
        config["upscale"] = {"below_median_area": rule["below_median_area"],
                             "factor": rule["factor"]}
        record["upscale"] = rule
        record["score"] = rule["score"]
    return config, record


def tune_classes(pkg: ModelPackage, config: dict, data: str | Path, trial: Path, *,
                 min_gain: float = 0.002, maps: list | None = None, log=silent) -> dict:
    """The class-prior correction (tune_type_weights) on val with `config`'s post-processing:
    {"type_weights" (None: no gain of min_gain), "score", "score_without"} in mPQ+. `maps`:
    val_maps(pkg, data), computed when None."""
    return tune_type_weights(write_trial(pkg, config, trial), data, "val", min_gain=min_gain,
                             log=log, maps=maps)


def score_on_test(pkg: ModelPackage, config: dict, data: str | Path, trial: Path,
                  log=silent) -> dict:
    """The test report's groups of `config`, for the card's "metrics_test" (its text lines go to
    `log`). fp32 ONNX Runtime: the card's numbers are the reference precision's (backend "auto"
    may pick a reduced one on some machines)."""
    report = evaluate(write_trial(pkg, config, trial), data, "test", backend="onnxruntime")
    for line in report_lines(report):
        log(line)
    return report["groups"]
