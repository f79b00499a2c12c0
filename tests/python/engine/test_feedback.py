"""A person waiting is told what happens: version, defaults in --help, the public API, a tile
size that would run for ages refused, progress inside a large image, and what the first use of
backend="auto" measures."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

import cellrt
from cellrt.engine.engine import Engine
from tests.python.engine.test_segment_cli import EXAMPLES, run_cli


def test_version_and_help_defaults():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"cellrt {cellrt.__version__}"
    r = run_cli("segment", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "(default: nuclei-fluo)" in text and "(default: auto)" in text
    assert "(default: the model's)" in text and "(default: 0)" in text


def test_dir_lists_the_public_api():
    public = [n for n in dir(cellrt) if not n.startswith("_")]
    for name in ("Engine", "segment", "ObjectTable", "SegmentResult", "ops", "shipped_models"):
        assert name in public
        assert getattr(cellrt, name) is not None
    assert "nuclei-fluo" in cellrt.shipped_models()


@pytest.mark.parametrize("tile", [8, 63, -1])
def test_tiny_tile_size_is_refused(tile, tmp_path):
    with pytest.raises(ValueError, match=">= 64 px"):
        Engine("nuclei-fluo", backend="onnxruntime", tile_size=tile)
    r = run_cli("segment", EXAMPLES / "dsb_fluo_0.png", "-o", tmp_path / "o", "--tile-size",
                tile, "--backend", "onnxruntime")
    assert r.returncode == 2 and ">= 64 px" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_progress_inside_a_large_image(tmp_path):
    img = cv2.imread(str(EXAMPLES / "dsb_fluo_3.png"), cv2.IMREAD_UNCHANGED)
    src = tmp_path / "big.png"
    cv2.imwrite(str(src), np.tile(img, (2, 2)))  # 1040 x 1392: 17 x 22 tiles of 64
    r = run_cli("segment", src, "-o", tmp_path / "o", "--tile-size", "64", "--no-autoscale",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert f"{src}: tiles 374/374" in r.stderr


def test_first_auto_calibration_says_what_it_measures(tmp_path):
    env = dict(os.environ, CELLRT_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "cellrt.cli", "segment", str(EXAMPLES / "dsb_fluo_0.png"),
           "-o", str(tmp_path / "o")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    first = r.stderr.splitlines()[0]
    assert first.startswith("auto: first use of nuclei-fluo") and "onnxruntime fp32" in first
    assert "about" in first and "once (cached)" in first
    assert "chosen for nuclei-fluo" in r.stderr
    again = subprocess.run(cmd + ["--overwrite"], capture_output=True, text=True, env=env,
                           timeout=600, check=False)
    assert again.returncode == 0 and "auto:" not in again.stderr
