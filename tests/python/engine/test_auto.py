"""backend="auto": measured (speed on one input, accuracy gate for reduced precision), cached
per machine, and what an Engine actually gets."""

import json

import pytest

from cellrt.engine import auto
from cellrt.engine.engine import Engine
from cellrt.families import bind
from cellrt.runtime.backends import backend_status
from cellrt.runtime.cache import cache_dir
from cellrt.runtime.package import ModelPackage


def _measure(pkg):
    return auto.measure(pkg, bind(pkg.config), threads=2)


@pytest.fixture(scope="module")
def measured():
    return _measure(ModelPackage.load("nuclei-fluo"))


def test_every_candidate_is_timed_or_says_why_not(measured):
    status = backend_status()
    assert [(r["backend"], r["precision"]) for r in measured.measured] == list(auto.CANDIDATES)
    for row in measured.measured:
        usable = row["precision"] in status[row["backend"]]["precisions"]
        if "network_ms" in row:
            assert usable and row["network_ms"] > 0
        else:
            assert len(row["unusable"]) > 5
    timed = [r for r in measured.measured if "network_ms" in r]
    best = min(timed, key=lambda r: r["network_ms"])
    assert (measured.backend, measured.precision) == (best["backend"], best["precision"])
    assert ("onnxruntime", "fp32") in [(r["backend"], r["precision"]) for r in timed]


def test_reduced_precision_passed_the_accuracy_gate(measured):
    for row in measured.measured:
        if row["precision"] != "fp32" and "ap50" in row:
            ok = (abs(row["ap50"] - row["ap50_fp32"]) < auto.MAX_AP_DROP
                  and row["agreement_ap50"] >= auto.MIN_AGREEMENT)
            assert ok == ("network_ms" in row)
            assert 0.3 < row["ap50_fp32"] <= 1.0  # the gate scored real instances
            assert 0.5 < row["agreement_ap50"] <= 1.0


def test_a_failing_gate_excludes_reduced_precision(monkeypatch):
    if "bf16" not in backend_status()["openvino"]["precisions"]:
        pytest.skip("no bf16 backend here")
    monkeypatch.setattr(auto, "MAX_AP_DROP", 0.0)  # nothing can pass a zero tolerance
    sel = _measure(ModelPackage.load("nuclei-fluo"))
    row = next(r for r in sel.measured if (r["backend"], r["precision"]) == ("openvino", "bf16"))
    assert "differs by >= 0.0" in row["unusable"] and "network_ms" not in row
    assert sel.precision == "fp32"


def test_agreement_gate_excludes_reduced_precision(monkeypatch):
    if "bf16" not in backend_status()["openvino"]["precisions"]:
        pytest.skip("no bf16 backend here")
    monkeypatch.setattr(auto, "MIN_AGREEMENT", 1.01)  # no candidate can agree more than fully
    monkeypatch.setattr(auto, "MAX_AP_DROP", 2.0)  # so only the agreement gate can fire
    sel = _measure(ModelPackage.load("nuclei-fluo"))
    row = next(r for r in sel.measured if (r["backend"], r["precision"]) == ("openvino", "bf16"))
    assert "agree with fp32's at AP@0.5" in row["unusable"] and "network_ms" not in row


def test_choice_is_cached_and_keyed(measured):
    pkg = ModelPackage.load("nuclei-fluo")
    first = auto.select(pkg, bind(pkg.config), threads=2)
    table = json.loads((cache_dir() / "auto.json").read_text())
    key = auto.cache_key(pkg, 2, None)
    assert table[key]["backend"] == first.backend
    # A cached entry is used as is (edit it: the next select returns the edited choice).
    table[key] = {**table[key], "backend": "onnxruntime", "precision": "fp32"}
    (cache_dir() / "auto.json").write_text(json.dumps(table))
    assert auto.select(pkg, bind(pkg.config), threads=2).backend == "onnxruntime"
    assert auto.cache_key(pkg, 1, None) != key
    assert auto.cache_key(ModelPackage.load("nuclei-he"), 2, None) != key
    # A cached backend that is not usable here any more is measured again, not used.
    table[key] = {**table[key], "backend": "tensorrt", "precision": "fp16"}
    (cache_dir() / "auto.json").write_text(json.dumps(table))
    again = auto.select(pkg, bind(pkg.config), threads=2)
    assert again.backend in backend_status() and backend_status()[again.backend]["usable"]
    # An unreadable cache is re-measured, not a crash.
    (cache_dir() / "auto.json").write_text("{not json")
    assert auto.select(pkg, bind(pkg.config), threads=2).backend in (
        "openvino", "onnxruntime", "torch", "tensorrt")


def test_engine_auto_uses_the_selection():
    eng = Engine("nuclei-fluo", backend="auto", threads=2)
    assert (eng.backend.name, eng.backend.precision) == (eng.selection.backend,
                                                         eng.selection.precision)
    assert "Engine('nuclei-fluo', backend=" in repr(eng)
