"""`cellrt export`, `cellrt bench`, `cellrt info` and `segment --model PACKAGE --backend` as a
user runs them (real subprocesses, real files)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cellrt
from cellrt.runtime.backends import NAMES
from cellrt.runtime.package import ModelPackage

EXAMPLES = Path(cellrt.__file__).parent / "examples"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cellrt.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_export_then_segment_with_the_package(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "fluo.cellrt"
    proc = run_cli("export", "--model", "nuclei-fluo", "-o", out)
    assert proc.returncode == 0, proc.stderr
    diffs = [float(part.split(";")[0]) for part in proc.stdout.split("=")[1:]]
    print(proc.stdout.strip())
    assert len(diffs) == 2 and max(diffs) < 1e-3
    new, shipped = ModelPackage.load(out), ModelPackage.load("nuclei-fluo")
    assert new.config == shipped.config and new.weights == shipped.weights
    from cellrt.runtime.backends import create_backend

    x = np.random.default_rng(0).random((2, 1, 96, 128), np.float32)
    a = create_backend(new, "onnxruntime").run(x)
    b = create_backend(shipped, "onnxruntime").run(x)
    # Re-exporting folds the branches again in fp32 on this machine's CPU, whose accumulation order
    # may differ from the one that built the shipped graph: a few ulps (relative ~3e-6 was seen on
    # distances of 5-8 px), so the bound is relative as well as absolute.
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-5, atol=1e-5)
    proc = run_cli("segment", EXAMPLES / "dsb_fluo_1.png", "-o", tmp_path / "seg", "--model", out,
                   "--backend", "onnxruntime")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "seg" / "dsb_fluo_1_objects.csv").is_file()


@pytest.mark.parametrize("args,msg", [
    (["--model", "nuclei-fluo", "-o", "x.onnx"], "output must end in .cellrt, got x.onnx"),
    (["--checkpoint", "missing.pt", "-o", "x.cellrt"], "checkpoint missing.pt does not exist"),
    (["--model", "nope", "-o", "x.cellrt"], "unknown model 'nope'"),
])
def test_export_errors(tmp_path, args, msg):
    pytest.importorskip("torch")
    proc = run_cli("export", *args, cwd=tmp_path)
    assert proc.returncode == 2 and msg in proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.iterdir())


@pytest.mark.parametrize("batch", [1, 3])
def test_bench_json(tmp_path, batch):
    path = tmp_path / "bench.json"
    proc = run_cli("bench", "--backend", "onnxruntime", "auto", "--size", 160, "--batch", batch,
                   "--repeat", 3, "--json", path)
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(path.read_text())["runs"]
    assert [r["backend"] for r in runs] == ["onnxruntime", "auto"]
    for r in runs:
        assert (r["size"], r["batch"]) == (160, batch) and r["objects"] > 5
        assert set(r["stages"]) == {"read", "normalise", "network", "postprocess", "stitch",
                                    "total"}
        for st in r["stages"].values():
            assert 0 <= st["p50_ms"] <= st["p95_ms"] <= st["p99_ms"]
        assert r["stages"]["network"]["p50_ms"] > 0
        assert r["images_per_s"] > 0
        assert r["megapixels_per_s"] == pytest.approx(r["images_per_s"] * 160 * 160 / 1e6,
                                                      rel=1e-2)
    assert "img/s" in proc.stdout
    # What is being measured is said before each run, not only after it.
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("bench: onnxruntime at 160^2"))
    assert start < next(i for i, line in enumerate(lines) if "img/s" in line)


@pytest.mark.parametrize("args,msg", [
    (["--size", 8], "--size must be >= 16"),
    (["--backend", "onnxruntime:int8"], "got 'onnxruntime:int8'"),
    (["--backend", "auto:bf16"], "'auto' chooses its own precision"),
    (["--backend", "onnxruntime:bf16", "--size", 64], "offers fp32 here, not bf16"),
])
def test_bench_errors(args, msg):
    proc = run_cli("bench", *args)
    assert proc.returncode == 2 and msg in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_info_lists_backends():
    proc = run_cli("info")
    assert proc.returncode == 0
    block = proc.stdout.split("network backends:")[1].split("shipped models")[0]
    for name in NAMES:
        assert name in block
    assert "onnxruntime  usable: fp32" in block
    models = proc.stdout.split("shipped models (what they expect):")[1]
    assert "nuclei-he    H&E brightfield, 3 channel(s)" in models and "0.25 µm/px" in models
    info = json.loads(run_cli("info", "--json").stdout)
    assert set(info["backends"]) == set(NAMES)
    assert info["models"]["nuclei-fluo"]["modality"] == "fluorescence"
