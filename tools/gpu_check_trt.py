"""Python parts of tools/gpu_check.sh, the prepared check for a machine with an NVIDIA GPU.

Subcommands (each writes one JSON fragment with --json and exits 0 ok, 1 failed, 3 skipped):

  trt      every shipped model at fp32 and fp16 on TensorRT: engine build time, Engine.segment
           p50/p99 latency on the shipped example images, instance parity with ONNX Runtime
           (AP@0.5 of the TensorRT labels taking ONNX Runtime's as truth, pooled over images:
           fp32 >= 0.99, fp16 >= 0.95) and one Engine.segment_many run over all examples;
  kernels  every compiled op on the CPU and on the GPU (torch CUDA tensors) with the inputs of
           tools/bench/: median times, speed-up and whether the GPU result matches the CPU one
           (the benches themselves have no CUDA option: they compare the CPU kernels with peers);
  summary  assembles the step table the shell script writes into gpu_check.json.

Only the standard library is imported at module level, so `--help` and `summary` work on any
machine; numpy, torch and cellrt are imported by the subcommands that need them. `trt --backend
onnxruntime` runs the same code path on a CPU (a dry run of the plumbing, not a TensorRT check).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXIT_OK, EXIT_FAILED, EXIT_SKIPPED = 0, 1, 3
# Instance parity of a precision against ONNX Runtime fp32 (pooled AP@0.5).
MIN_AP = {"fp32": 0.99, "fp16": 0.95, "bf16": 0.95}


def _log(msg: str) -> None:
    print(f"gpu_check_trt: {msg}", flush=True)


def _write_json(path: str | None, obj: dict, echo: bool = True) -> None:
    """Write the report (also after each partial result, so that a run stopped by the shell
    script's timeout still leaves what it measured) and, at the end, print it."""
    text = json.dumps(obj, indent=2, default=str)
    if path:
        tmp = Path(f"{path}.tmp")
        tmp.write_text(text + "\n")
        tmp.replace(path)
    if echo:
        print(text, flush=True)


def _percentiles_ms(seconds: list[float]) -> dict:
    import numpy as np

    ms = np.asarray(seconds) * 1e3
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p99_ms": round(float(np.percentile(ms, 99)), 3),
            "runs": len(seconds)}


def _unavailable(exc: BaseException) -> bool:
    """A backend or precision this machine cannot offer (cellrt's BackendUnavailable, or a
    missing module), as opposed to a bug. Matched by name: the class's module may move."""
    return isinstance(exc, ImportError) or any(
        c.__name__ == "BackendUnavailable" for c in type(exc).__mro__)


# ---------------------------------------------------------------------------------------------
# trt


def shipped_models() -> list[str]:
    """Names of the models shipped inside the package."""
    from cellrt.runtime.package import shipped_models as names

    return names()


def example_images() -> dict[str, object]:
    """{file name: image array} of the shipped examples (arrays, so timings exclude reading)."""
    import cellrt

    paths = sorted((Path(cellrt.__file__).parent / "examples").glob("*.png"))
    try:
        from cellrt.io import read_image
    except ImportError:  # pass paths: the engine reads them itself
        return {p.name: str(p) for p in paths}
    return {p.name: read_image(p) for p in paths}


def _ap50(truth, pred):
    """(AP@0.5, tp, fp, fn) of pred against truth; two empty images agree perfectly."""
    from cellrt.metrics import average_precision

    if truth.max() == 0 and pred.max() == 0:
        return 1.0, 0, 0, 0
    r = average_precision(truth, pred, thresholds=[0.5])
    return float(r.ap[0]), int(r.tp[0]), int(r.fp[0]), int(r.fn[0])


def _engine(model, backend, precision, tile_size):
    import cellrt

    return cellrt.Engine(model, backend=backend, precision=precision, tile_size=tile_size)


def check_precision(model, precision, images, reference, args) -> dict:
    """Build, time and compare one (model, precision) on the backend under test."""
    out: dict = {"precision": precision}
    t0 = time.perf_counter()
    engine = _engine(model, args.backend, precision, args.tile_size)
    out["build_s"] = round(time.perf_counter() - t0, 2)
    out["engines_built"] = getattr(engine.backend, "builds", None)
    out["backend"] = f"{engine.backend.name} {engine.backend.precision}"
    per_image, all_runs = {}, []
    tp = fp = fn = 0
    for name, image in images.items():
        for _ in range(args.warmup):
            result = engine.segment(image)
        runs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            result = engine.segment(image)
            runs.append(time.perf_counter() - t)
        all_runs += runs
        ap, a, b, c = _ap50(reference[name], result.labels)
        tp, fp, fn = tp + a, fp + b, fn + c
        per_image[name] = {"ap50": round(ap, 4), "count": result.count,
                           "reference_count": int(reference[name].max()),  # ids are 1..N
                           **_percentiles_ms(runs)}
    out["per_image"] = per_image
    out["latency_all_images"] = _percentiles_ms(all_runs)
    pooled = tp / (tp + fp + fn) if tp + fp + fn else 1.0
    out["ap50_pooled"] = round(pooled, 4)
    out["ap50_min_image"] = min(v["ap50"] for v in per_image.values())
    out["min_ap50_required"] = MIN_AP.get(precision, 0.95)

    # segment_many over all examples, batched and pipelined: throughput, and the same labels as
    # segment gives one image at a time.
    names = list(images)
    t = time.perf_counter()
    many = list(engine.segment_many([images[n] for n in names]))
    seconds = time.perf_counter() - t
    differing = [n for n, r in zip(names, many)
                 if _ap50(engine.segment(images[n]).labels, r.labels)[0] < 1.0]
    out["segment_many"] = {"images": len(names), "seconds": round(seconds, 3),
                           "images_per_s": round(len(names) / seconds, 2),
                           "differs_from_segment": differing}
    failed = []
    if pooled < out["min_ap50_required"]:
        failed.append(f"pooled AP@0.5 vs {args.reference} {pooled:.4f} < "
                      f"{out['min_ap50_required']}")
    if differing:
        failed.append(f"segment_many labels differ from segment on {', '.join(differing)}")
    out["status"] = "failed" if failed else "ok"
    if failed:
        out["reason"] = "; ".join(failed)
    return out


def cmd_trt(args) -> int:
    report: dict = {"backend": args.backend, "reference": args.reference,
                    "runs": args.runs, "warmup": args.warmup, "tile_size": args.tile_size,
                    "models": {}}
    try:
        if args.backend == "tensorrt":
            import tensorrt

            report["tensorrt_version"] = tensorrt.__version__
        import cellrt

        report["cellrt_version"] = cellrt.__version__
        models = args.models or shipped_models()
        images = example_images()
    except Exception as exc:  # noqa: BLE001  (recorded, not raised: the check goes on)
        status = "skipped" if _unavailable(exc) else "failed"
        report.update(status=status, reason=f"{type(exc).__name__}: {exc}")
        _write_json(args.json, report)
        return EXIT_SKIPPED if status == "skipped" else EXIT_FAILED
    report["models_checked"], report["images"] = models, list(images)
    statuses = []
    for model in models:
        entry: dict = {}
        report["models"][model] = entry
        try:
            t = time.perf_counter()
            ref_engine = _engine(model, args.reference, "fp32", args.tile_size)
            reference = {n: ref_engine.segment(img).labels for n, img in images.items()}
            entry["reference_s"] = round(time.perf_counter() - t, 2)
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            entry.update(status="failed", reason=f"reference {args.reference}: "
                                                 f"{type(exc).__name__}: {exc}")
            statuses.append("failed")
            continue
        for precision in args.precisions:
            _log(f"{model} {args.backend} {precision}")
            try:
                res = check_precision(model, precision, images, reference, args)
            except Exception as exc:  # noqa: BLE001
                skipped = _unavailable(exc)
                if not skipped:
                    traceback.print_exc()
                res = {"precision": precision, "status": "skipped" if skipped else "failed",
                       "reason": f"{type(exc).__name__}: {exc}"}
            entry[precision] = res
            statuses.append(res["status"])
            _write_json(args.json, {**report, "status": "running"}, echo=False)
            _log(f"{model} {precision}: {res['status']} {res.get('reason', '')}".rstrip())
    if "failed" in statuses:
        report["status"] = "failed"
    elif "ok" in statuses:
        report["status"] = "ok"
    else:
        report.update(status="skipped", reason="no model and precision could run")
    _write_json(args.json, report)
    return {"ok": EXIT_OK, "failed": EXIT_FAILED}.get(report["status"], EXIT_SKIPPED)


# ---------------------------------------------------------------------------------------------
# kernels


def _median_ms(fn, repeats: int, warmup: int, sync=None) -> float:
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def _kernel_cases():
    """(op, case, cpu args, cpu fn, to-GPU fn, compare) per op, on the benches' inputs. Each
    entry is built lazily so one broken generator costs one record, not the whole step."""
    import numpy as np

    import cellrt.ops as ops

    def nms_inputs(n, classes):
        from cellrt.reference.nms_ref import cell_like_boxes

        rng = np.random.default_rng(n)
        boxes, scores, _ = cell_like_boxes(rng, n)
        return (boxes, scores, rng.integers(0, classes, n)) if classes else (boxes, scores)

    def roi_inputs():
        from tools.bench.bench_roi_align import _cell_boxes

        rng = np.random.default_rng(0)
        x = rng.standard_normal((2, 256, 128, 128), dtype=np.float32)
        return x, _cell_boxes(rng, 2000, 512, 2)

    def roi_backward_inputs():
        x, boxes = roi_inputs()
        grad = np.random.default_rng(1).standard_normal((len(boxes), 256, 7, 7), dtype=np.float32)
        return grad, boxes

    def label_inputs():
        from tools.bench.bench_label import cell_mask

        return (cell_mask(2048, 2048, 2000),)

    def watershed_inputs():
        from tools.bench.bench_watershed import nuclei_map

        image, cores, mask = nuclei_map(2048, seed=2048, smooth=True)
        return image.astype(np.float32), ops.label(cores, 1), mask

    def regionprops_inputs():
        from tools.bench.bench_regionprops import nuclei_labels

        lab = nuclei_labels(2048, 2048, 2000)
        return lab, np.random.default_rng(1).random((2048, 2048, 3), dtype=np.float32)

    def paste_inputs():
        from tools.bench.bench_paste_masks import make_nuclei

        return make_nuclei()

    def votes_inputs():
        from tools.bench.bench_label import cell_mask

        mask = cell_mask(2048, 2048, 2000) > 0
        dist = np.random.default_rng(2).uniform(0, 20, (4, *mask.shape)).astype(np.float32)
        return dist, mask

    def attention_inputs():
        from tools.bench.bench_attention_fusion import make_inputs

        return make_inputs()

    def equal(a, b):
        return {"match": bool(np.array_equal(a, b))}

    def close(rtol, atol):
        def cmp(a, b):
            err = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
            return {"match": bool(np.allclose(a, b, rtol=rtol, atol=atol)), "max_abs_err": err}
        return cmp

    def few_pixels(a, b):  # CUDA samples in float32, the CPU in float64 (see test_paste_masks)
        frac = float((a != b).mean())
        return {"match": frac < 1e-4, "mismatched_fraction": frac}

    def props(a, b):
        keys = sorted(set(a) & set(b))
        ok = all(np.allclose(np.asarray(a[k], np.float64), np.asarray(b[k], np.float64),
                             rtol=1e-5, atol=1e-5) for k in keys)
        return {"match": bool(ok and set(a) == set(b))}

    shape_7 = (2, 256, 128, 128)
    return [
        ("nms", "cell-like N=20000", lambda: nms_inputs(20000, 0),
         lambda b, s: ops.nms(b, s, 0.5), equal),
        ("batched_nms", "cell-like N=20000, 3 classes", lambda: nms_inputs(20000, 3),
         lambda b, s, i: ops.batched_nms(b, s, i, 0.5), equal),
        ("roi_align", "forward 2x256x128x128, 2000 RoIs, 7x7, sr=2", roi_inputs,
         lambda x, b: ops.roi_align(x, b, 7, 0.25, 2, False), close(1e-4, 1e-4)),
        ("roi_align_backward", "2x256x128x128, 2000 RoIs, 7x7, sr=2", roi_backward_inputs,
         lambda g, b: importlib.import_module("cellrt.ops.roi_align").roi_align_backward(
             g, b, shape_7, 0.25, 2, False), close(1e-4, 1e-4)),
        ("label", "2048x2048 cells, 4-conn", label_inputs,
         lambda m: ops.label(m, 1), equal),
        ("watershed", "smooth 2048x2048", watershed_inputs,
         lambda img, mk, m: ops.watershed(img, mk, m), equal),
        ("regionprops", "2048x2048, ~2000 nuclei, 3-ch float32", regionprops_inputs,
         lambda lab, inten: ops.regionprops(lab, inten), props),
        ("paste_masks", "1024x1024, 1000 RoIs 28x28", paste_inputs,
         lambda m, b, s: ops.paste_masks(m, b, s, (1024, 1024), 0.5), few_pixels),
        ("boundary_votes", "2048x2048 cells, random distances", votes_inputs,
         lambda d, m: ops.boundary_votes(d, m), equal),
        ("attention_fusion", "forward R=512 C=256 14x14 float32", attention_inputs,
         lambda f, m, w, b: ops.attention_fusion(f, m, w, b), close(1e-5, 1e-5)),
    ]


def _to_host(x):
    import numpy as np

    if isinstance(x, dict):
        return {k: _to_host(v) for k, v in x.items()}
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def cmd_kernels(args) -> int:
    report: dict = {"repeats": args.repeats, "records": []}
    try:
        import torch

        import cellrt
        from tools.bench._timing import set_threads

        if not cellrt.HAS_CUDA:
            from cellrt import _backend

            raise RuntimeError(f"cellrt.HAS_CUDA is False: {_backend.CUDA_UNAVAILABLE_REASON}")
        if not torch.cuda.is_available():
            raise RuntimeError("torch sees no CUDA device")
        threads = args.threads or os.cpu_count() or 1
        set_threads(threads)
        report.update(threads=threads, device=torch.cuda.get_device_name(0))
        cases = _kernel_cases()
    except Exception as exc:  # noqa: BLE001
        report.update(status="skipped", reason=f"{type(exc).__name__}: {exc}")
        _write_json(args.json, report)
        return EXIT_SKIPPED
    sync = torch.cuda.synchronize
    for op, case, make, fn, compare in cases:
        if args.only and op not in args.only:
            continue
        rec: dict = {"op": op, "case": case}
        try:
            host = make()
            dev = [torch.from_numpy(x).cuda() for x in host]
            cpu_out, gpu_out = fn(*host), fn(*dev)
            rec.update(compare(_to_host(gpu_out), _to_host(cpu_out)))
            rec["cpu_ms"] = round(_median_ms(lambda: fn(*host), args.repeats, 1), 4)
            rec["cuda_ms"] = round(_median_ms(lambda: fn(*dev), args.repeats, 2, sync), 4)
            rec["speedup"] = round(rec["cpu_ms"] / rec["cuda_ms"], 2) if rec["cuda_ms"] else None
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            rec["error"] = f"{type(exc).__name__}: {exc}"
        report["records"].append(rec)
        _log(" ".join(f"{k}={v}" for k, v in rec.items()))
        _write_json(args.json, {**report, "status": "running"}, echo=False)
    bad = [r["op"] for r in report["records"] if "error" in r or not r.get("match")]
    report["status"] = "failed" if bad else "ok"
    if bad:
        report["reason"] = f"error or CPU/GPU mismatch in {', '.join(bad)}"
    _write_json(args.json, report)
    return EXIT_FAILED if bad else EXIT_OK


# ---------------------------------------------------------------------------------------------
# summary


def cmd_summary(args) -> int:
    """steps TSV (name, status, seconds, reason, numbers JSON, details file) -> gpu_check.json"""
    steps = []
    for line in Path(args.steps).read_text().splitlines():
        if not line.strip():
            continue
        name, status, seconds, reason, numbers, details = (line.split("\t") + [""] * 6)[:6]
        step: dict = {"name": name, "status": status, "seconds": float(seconds or 0)}
        if reason:
            step["reason"] = reason
        try:
            step["numbers"] = json.loads(numbers) if numbers else {}
        except json.JSONDecodeError:
            step["numbers"] = {"unparsed": numbers}
        if details and Path(details).is_file():
            try:
                step["details"] = json.loads(Path(details).read_text())
            except json.JSONDecodeError as exc:
                step["details_error"] = f"{details}: {exc}"
        steps.append(step)
    summary = {
        "gpu": {"name": args.gpu_name, "driver": args.driver, "cuda_version": args.cuda_version,
                "nvcc": args.nvcc},
        "host": os.uname().nodename,
        "started": args.started,
        "seconds": args.seconds,
        "ok": all(s["status"] != "failed" for s in steps),
        "steps": steps,
    }
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gpu_check_trt.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("trt", help="TensorRT vs ONNX Runtime: build, latency, parity")
    p.add_argument("--json", metavar="PATH", help="write the report here too")
    p.add_argument("--models", nargs="*", help="default: every shipped model")
    p.add_argument("--precisions", nargs="*", default=["fp32", "fp16"])
    p.add_argument("--runs", type=int, default=20, help="timed segment calls per image")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--tile-size", type=int, default=None,
                   help="Engine tile_size for both engines (default: the model's)")
    p.add_argument("--backend", default="tensorrt",
                   help="backend under test (onnxruntime: a CPU dry run of this code)")
    p.add_argument("--reference", default="onnxruntime", help="the backend taken as truth")
    p.set_defaults(func=cmd_trt)

    k = sub.add_parser("kernels", help="each compiled op, CPU vs CUDA")
    k.add_argument("--json", metavar="PATH")
    k.add_argument("--repeats", type=int, default=10)
    k.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores)")
    k.add_argument("--only", nargs="*", help="ops to run (default: all)")
    k.set_defaults(func=cmd_kernels)

    s = sub.add_parser("summary", help="assemble gpu_check.json from the step table")
    s.add_argument("--steps", required=True, help="TSV written by gpu_check.sh")
    s.add_argument("--out", required=True)
    s.add_argument("--gpu-name", default="")
    s.add_argument("--driver", default="")
    s.add_argument("--cuda-version", default="")
    s.add_argument("--nvcc", default="")
    s.add_argument("--started", default="")
    s.add_argument("--seconds", type=float, default=0.0)
    s.set_defaults(func=cmd_summary)

    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:  # tools.bench.* for the kernel inputs
        sys.path.insert(0, str(ROOT))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
