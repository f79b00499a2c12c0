"""tools/gpu_check.sh (the prepared GPU check) and its helper tools/gpu_check_trt.py on a machine
without a GPU: one line, exit 0, nothing written; the helper's help and summary need no GPU."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "gpu_check.sh"
HELPER = ROOT / "tools" / "gpu_check_trt.py"


def _gpu_listed() -> bool:
    """What the script itself checks: nvidia-smi is there and lists a GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        res = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0 and any(line.startswith("GPU ") for line in res.stdout.splitlines())


def _script_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GPU_CHECK_") and k != "OUT"}
    env.update(extra)
    return env


@pytest.fixture
def bash() -> str:
    exe = shutil.which("bash")
    if exe is None:
        pytest.skip("bash not found")
    return exe


@pytest.fixture
def no_gpu() -> None:
    if _gpu_listed():
        pytest.skip("nvidia-smi lists a GPU here: the script would run the real check (minutes)")


def _assert_one_no_gpu_line(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr == ""
    lines = res.stdout.splitlines()
    assert len(lines) == 1, res.stdout
    assert lines[0].startswith("gpu_check: no NVIDIA GPU here (")
    assert lines[0].endswith("); nothing to check")


def test_without_gpu_prints_one_line_and_writes_nothing(bash, no_gpu, tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([bash, str(SCRIPT), str(out)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, env=_script_env())
    _assert_one_no_gpu_line(res)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_without_gpu_default_outdirs_stay_absent(bash, no_gpu, tmp_path):
    """No argument: OUTDIR would be $OUT, else ./gpu-check-out; neither is created."""
    via_env = tmp_path / "from-env"
    res = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=_script_env(OUT=str(via_env)))
    _assert_one_no_gpu_line(res)
    res = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path, env=_script_env())
    _assert_one_no_gpu_line(res)
    assert list(tmp_path.iterdir()) == []


def test_script_parses(bash):
    res = subprocess.run([bash, "-n", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr


def test_script_is_shellcheck_clean():
    exe = shutil.which("shellcheck")
    if exe is None:
        pytest.skip("shellcheck not installed")
    res = subprocess.run([exe, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("args", [[], ["trt"], ["kernels"], ["summary"]])
def test_helper_help_needs_no_gpu(args):
    res = subprocess.run([sys.executable, str(HELPER), *args, "--help"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: gpu_check_trt.py")


def test_helper_imports_no_heavy_module():
    """Help and summary must work where numpy, torch or cellrt are missing or broken."""
    code = (f"import runpy, sys; sys.argv = [{str(HELPER)!r}, '--help']\n"
            f"try:\n    runpy.run_path({str(HELPER)!r}, run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'torch', 'cellrt', 'tensorrt')\n"
            "             if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == "[]"


def test_helper_summary_assembles_the_step_table(tmp_path):
    details = tmp_path / "bench.json"
    details.write_text(json.dumps({"records": [{"op": "nms", "speedup": 12.5}]}))
    steps = tmp_path / "steps.tsv"
    steps.write_text(
        "build\tok\t61.2\t\t{\"cuda_architectures\": \"native\"}\t\n"
        "cuda_tests\tfailed\t30.0\tpytest exited 1\t{\"passed\": 40, \"failed\": 2}\t\n"
        f"bench_gpu\tok\t12.0\t\t\t{details}\n"
        "memcheck\tskipped\t0.0\tcompute-sanitizer not on PATH\t\t\n")
    out = tmp_path / "gpu_check.json"
    res = subprocess.run(
        [sys.executable, str(HELPER), "summary", "--steps", str(steps), "--out", str(out),
         "--gpu-name", "NVIDIA H100 80GB HBM3", "--driver", "580.159.04", "--cuda-version", "13.0",
         "--seconds", "103"],
        capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    summary = json.loads(out.read_text())
    assert summary["gpu"] == {"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04",
                              "cuda_version": "13.0", "nvcc": ""}
    assert summary["ok"] is False
    assert [(s["name"], s["status"]) for s in summary["steps"]] == [
        ("build", "ok"), ("cuda_tests", "failed"), ("bench_gpu", "ok"), ("memcheck", "skipped")]
    build, tests, bench, memcheck = summary["steps"]
    assert build["seconds"] == 61.2 and build["numbers"] == {"cuda_architectures": "native"}
    assert tests["reason"] == "pytest exited 1" and tests["numbers"]["failed"] == 2
    assert bench["details"]["records"][0]["speedup"] == 12.5
    assert memcheck["reason"] == "compute-sanitizer not on PATH" and "details" not in memcheck
