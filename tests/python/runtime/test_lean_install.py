"""The lean runtime: no torch (nor OpenVINO, TensorRT). Segmenting with a shipped model works in a process where
importing torch fails, and torch is not a required dependency of the package."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cellrt

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = Path(cellrt.__file__).parent / "examples"

BLOCK_TORCH = textwrap.dedent("""
    import importlib.abc, sys

    class _NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            # The lean install has none of the optional extras' packages.
            if name.split(".")[0] in ("torch", "torchvision", "openvino", "tensorrt"):
                raise ImportError(f"import of {name} blocked: lean install test")
            return None

    sys.meta_path.insert(0, _NoTorch())
""")


def _run(code: str, tmp_path):
    script = tmp_path / "lean.py"
    script.write_text(BLOCK_TORCH + textwrap.dedent(code))
    # Its own cache: a choice measured where OpenVINO could be imported is not this process's.
    env = {**os.environ, "CELLRT_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path, env=env)


def test_segment_without_torch(tmp_path):
    proc = _run(f"""
        try:
            import torch
        except ImportError:
            pass
        else:
            raise SystemExit("torch import was not blocked")
        import cellrt
        from cellrt.cli import main
        from cellrt.io.images import read_image
        rc = main(["segment", r"{EXAMPLES / 'dsb_fluo_1.png'}", "-o", "out"])
        assert rc == 0, rc
        eng = cellrt.Engine("nuclei-fluo", backend="auto")
        res = eng.segment(read_image(r"{EXAMPLES / 'dsb_fluo_0.png'}"))
        many = list(eng.segment_many([read_image(r"{EXAMPLES / 'dsb_fluo_0.png'}")] * 3))
        assert res.count > 20 and all(m.count == res.count for m in many)
        assert "torch" not in sys.modules
        assert (eng.backend.name, eng.backend.precision) == ("onnxruntime", "fp32")
        print("objects", res.count, eng.backend.name, eng.backend.precision)
        print(cellrt.runtime.backends.backend_status()["torch"]["reason"])
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "objects" in proc.stdout and "torch is not importable" in proc.stdout
    assert (tmp_path / "out" / "dsb_fluo_1_labels.tif").is_file()


def test_export_without_torch_is_one_clear_error(tmp_path):
    proc = _run("""
        from cellrt.cli import main
        raise SystemExit(main(["export", "--model", "nuclei-fluo", "-o", "x.cellrt"]))
    """, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("cellrt export: error: export needs PyTorch: "
                                   "pip install 'cellrt[train]'")


def test_torch_is_not_a_required_dependency():
    tomllib = pytest.importorskip("tomllib")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(meta["dependencies"]).lower()
    assert "torch" not in required and "onnxruntime" in required
    assert any(d.startswith("torch") for d in meta["optional-dependencies"]["train"])
    assert any(d.startswith("openvino") for d in meta["optional-dependencies"]["openvino"])
