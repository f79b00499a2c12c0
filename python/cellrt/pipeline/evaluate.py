"""`cellrt eval --model NAME --data DIR --split test [--json PATH]`: segment every image of a
dataset split and score it: AP@0.5:0.95 (StarDist/Cellpose matching), PQ/DQ/SQ, AJI, AJI+, Dice
(pooled over the split and per-image means), per modality (dsb2018's meta.csv) and, for typed
models, CoNIC multi-class PQ per class and mPQ+."""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="score a model on a dataset split (AP, PQ, AJI, mPQ)")
    p.add_argument("--model", default="nuclei-fluo", help="shipped model name or .cellrt file")
    p.add_argument("--data", required=True, help="dataset folder (images/, labels/, split.json)")
    p.add_argument("--split", default="test")
    p.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    p.add_argument("--tile-size", type=int, default=None)
    p.add_argument("--threads", type=int, default=0)
    from cellrt.pipeline.cli import add_backend_argument, add_upscale_argument

    add_upscale_argument(p)
    add_backend_argument(p)
    p.set_defaults(func=run)


def _modalities(root: Path) -> dict[str, str]:
    meta = root / "meta.csv"
    if not meta.is_file():
        return {}
    with open(meta, newline="") as f:
        return {row["id"]: row["modality"] for row in csv.DictReader(f) if "modality" in row}


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
    import tifffile

    from cellrt.io.images import read_image
    from cellrt.metrics import DatasetMetrics
    from cellrt.pipeline.api import get_engine
    from cellrt.train.data import image_path, read_split

    root = Path(data)
    engine = get_engine(model, backend, threads, tile_size, upscale, flips)
    pkg = engine.package
    typed = "type_prob" in pkg.config.get("outputs", [])
    class_names = pkg.config.get("class_names", [])
    classes = list(range(1, len(class_names) + 1)) if typed else None
    modality = _modalities(root)
    groups: dict[str, DatasetMetrics] = {"all": DatasetMetrics(classes=classes)}
    upscaled = 0
    t0 = time.perf_counter()
    ids = read_split(root, [split])
    for sid in ids:
        img = read_image(image_path(root, sid))
        truth = tifffile.imread(root / "labels" / f"{sid}.tif")
        res = engine.segment(img)
        upscaled += res.scale > 1
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
            "upscaled_images": upscaled, "flips": flips,
            "groups": {k: _summary(m.result(), class_names) for k, m in groups.items()}}


def print_report(rep: dict) -> None:
    print(f"model {rep['model']} on {rep['data']} [{rep['split']}] ({rep['seconds']} s, "
          f"{rep.get('backend')} {rep.get('precision')}; {rep.get('upscaled_images', 0)} images "
          "segmented again at a larger scale for small nuclei"
          f"{'; maps averaged over 4 flips' if rep.get('flips') else ''})")
    cols = ["images", "objects_true", "objects_pred", "ap50", "ap50_mean_per_image", "pq", "dq",
            "sq", "aji", "aji_plus", "dice", "mpq_plus"]
    print(f"{'group':<18}" + "".join(f"{c[:12]:>13}" for c in cols))
    for name, g in rep["groups"].items():
        print(f"{name:<18}" + "".join(f"{g.get(c, ''):>13}" for c in cols))
    for name, g in rep["groups"].items():
        e = g.get("errors")
        if e:
            print(f"unmatched at IoU > 0.5 ({name}): true {e['true_missed']} missed, "
                  f"{e['true_merged']} merged, {e['true_split']} split, {e['true_poor_fit']} "
                  f"poor fit; predicted {e['pred_spurious']} spurious, {e['pred_merge']} "
                  f"merges, {e['pred_split']} split pieces, {e['pred_poor_fit']} poor fit")
    for name, g in rep["groups"].items():
        if "pq_per_class" in g:
            print(f"PQ per class ({name}): " + ", ".join(f"{k} {v}" for k, v in
                                                       g["pq_per_class"].items()))


def run(args: argparse.Namespace) -> int:
    rep = evaluate(args.model, args.data, args.split, args.tile_size, args.threads, args.backend,
                   args.upscale, args.flips)
    print_report(rep)
    if args.json:
        from cellrt.io.outputs import atomic_write_bytes

        atomic_write_bytes(args.json, json.dumps(rep, indent=2).encode())
    return 0
