"""`backend="auto"`: the fastest backend and precision that is accurate here, measured.

For each usable (backend, precision), fastest-first candidates are timed on one network input;
a reduced-precision candidate (bf16, fp16) must first pass an accuracy gate on the shipped
example images: its AP@0.5 against the annotations must be within 0.01 of fp32's, and its
instances must match fp32's (AP@0.5 with fp32's instances as the truth >= 0.95). The choice is
cached per machine (keyed by model, threads, device, versions and CPU), so only the first Engine
pays for it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from cellrt.engine.segment import segment_image
from cellrt.families import Family
from cellrt.io.atomic import atomic_write_json
from cellrt.io.examples import example_images
from cellrt.metrics import DatasetMetrics
from cellrt.runtime.backends import REGISTRY, BackendUnavailable, create_backend
from cellrt.runtime.cache import cache_dir, read_json
from cellrt.runtime.package import ModelPackage

CANDIDATES = (("tensorrt", "fp16"), ("tensorrt", "fp32"), ("openvino", "bf16"),
              ("openvino", "fp32"), ("onnxruntime", "fp32"), ("torch", "fp32"))
REFERENCE = ("onnxruntime", "fp32")
MAX_AP_DROP = 0.01
MIN_AGREEMENT = 0.95  # AP@0.5 of the candidate's instances against fp32's
TIMING_SIDE = 512  # network input side for the speed measurement


@dataclass
class Selection:
    backend: str
    precision: str
    measured: list = field(default_factory=list)  # one dict per candidate: ms, ap50, why not

    def to_dict(self) -> dict:
        return asdict(self)


def _versions() -> dict:
    out = {}
    for dist in ("cellrt", "onnxruntime", "openvino", "torch", "tensorrt"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cache_key(package: ModelPackage, threads: int, device: str | None) -> str:
    facts = {"onnx": hashlib.sha256(package.onnx_bytes).hexdigest(), "threads": threads,
             "device": device, "versions": _versions(), "cpu": _cpu()}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32]


def _ap50(truths, preds) -> float:
    dm = DatasetMetrics(thresholds=[0.5])
    for truth, pred in zip(truths, preds):
        dm.add(truth, pred)
    return float(dm.result().ap.ap[0])


def predict(backend, family: Family, pairs) -> list[np.ndarray]:
    """Labels of every example image, one pass, whole image."""
    return [segment_image(image, backend, family).labels for image, _ in pairs]


def gate(candidate: list, reference: list, pairs) -> dict:
    """The accuracy gate's numbers: AP@0.5 against the annotations for both, and the
    candidate's agreement with fp32 (AP@0.5 taking fp32's instances as the truth), which
    matters where a model scores low on the examples (e.g. an H&E model on fluorescence)."""
    truths = [t for _, t in pairs]
    return {"ap50": _ap50(truths, candidate), "ap50_fp32": _ap50(truths, reference),
            "agreement_ap50": _ap50(reference, candidate)}


def _time_ms(backend, channels: int, reps: int = 3) -> float:
    x = np.random.default_rng(0).random((1, channels, TIMING_SIDE, TIMING_SIDE), np.float32)
    backend.run(x)  # warm-up: first call plans/compiles
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        backend.run(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def silent(message: str) -> None:
    """The default `log`: library code prints nothing (the CLI passes a printer)."""


def measure(package: ModelPackage, family: Family, threads: int = 0, device: str | None = None,
            profile=None, log=silent) -> Selection:
    """Every candidate's accuracy gate and speed here; the fastest that passes. `profile`: the
    input shapes the caller's tile plan produces (for TensorRT). `log` gets one line before
    (what is measured, for about how long) and one per candidate."""
    pairs = example_images()
    offered = [(n, p) for n, p in CANDIDATES if _offers(n, p)]
    gated = sum(p != "fp32" for _, p in offered)
    log(f"auto: first use of {package.name} with these settings here: timing "
        f"{', '.join(f'{n} {p}' for n, p in offered)}"
        + (f" (and checking {gated} reduced precision(s) on {len(pairs)} example images)"
           if gated else "")
        + f"; about {5 + 10 * gated + 3 * len(offered)} s, once (cached)")
    # The fp32 reference first: a broken model.onnx fails here with ONNX Runtime's message.
    reference = create_backend(package, *REFERENCE, threads=threads)
    reference_labels = None
    measured = []
    for name, precision in CANDIDATES:
        row = {"backend": name, "precision": precision}
        measured.append(row)
        try:
            if precision not in REGISTRY[name].probe():
                raise BackendUnavailable(f"{precision} not offered here")
            backend = create_backend(package, name, precision, threads=threads, device=device,
                                     profile=profile)
        except BackendUnavailable as exc:  # a broken package (PackageError) is not "unusable"
            row["unusable"] = str(exc)
            continue
        if precision != "fp32":
            if reference_labels is None:
                reference_labels = predict(reference, family, pairs)
            row.update(gate(predict(backend, family, pairs), reference_labels, pairs))
            if abs(row["ap50"] - row["ap50_fp32"]) >= MAX_AP_DROP:
                row["unusable"] = (f"AP@0.5 {row['ap50']:.4f} vs fp32 {row['ap50_fp32']:.4f} on "
                                   f"the shipped examples: differs by >= {MAX_AP_DROP}")
                continue
            if row["agreement_ap50"] < MIN_AGREEMENT:
                row["unusable"] = (f"instances agree with fp32's at AP@0.5 "
                                   f"{row['agreement_ap50']:.4f} < {MIN_AGREEMENT}")
                continue
        row["network_ms"] = _time_ms(backend, package.config.in_channels)
        log(f"auto: {name} {precision}: {row['network_ms']:.0f} ms per {TIMING_SIDE}^2 input")
    timed = [r for r in measured if "network_ms" in r]
    if not timed:
        raise BackendUnavailable("auto: no backend is usable here: " + "; ".join(
            f"{r['backend']} {r['precision']}: {r['unusable']}" for r in measured))
    best = min(timed, key=lambda r: r["network_ms"])
    return Selection(best["backend"], best["precision"], measured)


def _offers(name: str, precision: str) -> bool:
    try:
        return precision in REGISTRY[name].probe()
    except BackendUnavailable:
        return False


def _still_offered(hit: dict) -> bool:
    """Whether a cached choice's backend still offers its precision here (a backend's package
    can become unimportable without its version changing, e.g. a broken install)."""
    spec = REGISTRY.get(hit.get("backend"))
    try:
        return spec is not None and hit.get("precision") in spec.probe()
    except BackendUnavailable:
        return False


def select(package: ModelPackage, family: Family, threads: int = 0, device: str | None = None,
           use_cache: bool = True, profile=None, log=silent) -> Selection:
    """The auto choice for this model here: from the cache, else measured and cached."""
    path = cache_dir() / "auto.json"
    key = cache_key(package, threads, device)
    if use_cache:
        hit = read_json(path).get(key)
        if hit and _still_offered(hit):
            return Selection(**hit)
    choice = measure(package, family, threads, device, profile, log)
    log(f"auto: {choice.backend} {choice.precision} chosen for {package.name}")
    table = read_json(path)
    table[key] = choice.to_dict()
    atomic_write_json(path, table, indent=1)
    return choice
