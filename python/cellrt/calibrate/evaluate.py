"""Score a model on a data set split (what `cellrt eval` runs): segment every image and report
AP@0.5:0.95 (StarDist/Cellpose matching), PQ/DQ/SQ, AJI, AJI+, Dice (pooled over the split and
per-image means), per modality (the data set's meta.csv) and, for typed models, CoNIC
multi-class PQ per class and mPQ+."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cellrt.engine.api import get_engine
from cellrt.io.datasets import image_path, modalities, read_split
from cellrt.io.images import read_image
from cellrt.metrics import DatasetMetrics


def _summary(res, class_names: list[str]) -> dict:
    thr = [round(float(t), 2) for t in res.ap.thresholds]
    out = {
        "images": res.n_images,
        "objects_true": int(res.ap.n_true),
        "objects_pred": int(res.ap.n_pred),
        "ap": dict(zip(map(str, thr), np.round(res.ap.ap, 4).tolist())),
        "ap50": round(float(res.ap.ap[0]), 4),
        "ap50_mean_per_image": round(float(res.ap_mean[0]), 4),
        "precision50": round(float(res.ap.precision[0]), 4),
        "recall50": round(float(res.ap.recall[0]), 4),
        "f1_50": round(float(res.ap.f1[0]), 4),
        "pq": round(res.pq.pq, 4), "dq": round(res.pq.dq, 4), "sq": round(res.pq.sq, 4),
        "pq_mean_per_image": round(res.pq_mean, 4),
        "aji": round(res.aji, 4), "aji_plus": round(res.aji_plus, 4),
        "aji_mean_per_image": round(res.aji_mean, 4),
        "dice": round(res.dice, 4),
        "errors": res.errors.to_dict(),
    }
    if res.multiclass is not None:
        mc = res.multiclass
        out["mpq_plus"] = round(float(mc.mpq), 4)
        out["pq_per_class"] = {
            (class_names[c - 1] if 0 < c <= len(class_names) else str(c)): round(float(q), 4)
            for c, q in zip(mc.classes.tolist(), mc.pq.tolist())}
    return out


def evaluate(model, data: str | Path, split: str, tile_size=None, threads=0,
             backend: str = "auto", upscale: bool = True, flips: bool = False) -> dict:
    """The report of `model` on `split` of the data set at `data`: {"model", "data", "split",
    "seconds", "backend", "precision", "upscaled_images", "shrunk_images", "flips",
    "groups": {group: numbers}},
    groups "all" and each modality of meta.csv."""
    import tifffile

    root = Path(data)
    engine = get_engine(model, backend, threads, tile_size, upscale, flips)
    pkg = engine.package
    typed = "type_prob" in pkg.config.outputs
    class_names = list(pkg.config.class_names)
    classes = list(range(1, len(class_names) + 1)) if typed else None
    modality = modalities(root)
    groups: dict[str, DatasetMetrics] = {"all": DatasetMetrics(classes=classes)}
    upscaled = shrunk = 0
    t0 = time.perf_counter()
    ids = read_split(root, [split])
    for sid in ids:
        img = read_image(image_path(root, sid))
        truth = tifffile.imread(root / "labels" / f"{sid}.tif")
        res = engine.segment(img)
        upscaled += res.scale > 1
        shrunk += res.scale < 1
        kw = {}
        if typed:
            lut = np.zeros(res.labels.max(initial=0) + 1, dtype=np.int64)
            lut[res.table["id"]] = res.table["class"]
            kw = {"true_classes": tifffile.imread(root / "classes" / f"{sid}.tif"),
                  "pred_classes": lut}
        keys = ["all"] + ([modality[sid]] if sid in modality else [])
        for k in keys:
            if k not in groups:
                groups[k] = DatasetMetrics(classes=classes)
            groups[k].add(truth, res.labels, **kw)
    seconds = time.perf_counter() - t0
    return {"model": pkg.name, "data": str(root), "split": split, "seconds": round(seconds, 1),
            "backend": engine.backend.name, "precision": engine.backend.precision,
            "upscaled_images": upscaled, "shrunk_images": shrunk, "flips": flips,
            "groups": {k: _summary(m.result(), class_names) for k, m in groups.items()}}


def report_lines(rep: dict) -> list[str]:
    """The report as text lines: a table of the groups, the error anatomy, PQ per class."""
    lines = [f"model {rep['model']} on {rep['data']} [{rep['split']}] ({rep['seconds']} s, "
             f"{rep.get('backend')} {rep.get('precision')}; {rep.get('upscaled_images', 0)} "
             "images segmented again at a larger scale for small nuclei, "
             f"{rep.get('shrunk_images', 0)} shrunk for large ones"
             f"{'; maps averaged over 4 flips' if rep.get('flips') else ''})"]
    cols = ["images", "objects_true", "objects_pred", "ap50", "ap50_mean_per_image", "pq", "dq",
            "sq", "aji", "aji_plus", "dice", "mpq_plus"]
    lines.append(f"{'group':<18}" + "".join(f"{c[:12]:>13}" for c in cols))
    for name, g in rep["groups"].items():
        lines.append(f"{name:<18}" + "".join(f"{g.get(c, ''):>13}" for c in cols))
    for name, g in rep["groups"].items():
        e = g.get("errors")
        if e:
            lines.append(
                f"unmatched at IoU > 0.5 ({name}): true {e['true_missed']} missed, "
                f"{e['true_merged']} merged, {e['true_split']} split, {e['true_poor_fit']} "
                f"poor fit; predicted {e['pred_spurious']} spurious, {e['pred_merge']} "
                f"merges, {e['pred_split']} split pieces, {e['pred_poor_fit']} poor fit")
    for name, g in rep["groups"].items():
        if "pq_per_class" in g:
            lines.append(f"PQ per class ({name}): " + ", ".join(f"{k} {v}" for k, v in
                                                              g["pq_per_class"].items()))
    return lines


