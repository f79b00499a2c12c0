"""TensorRT backend.

Without a GPU (every machine): the shipped graphs use only operators TensorRT 10 imports, engine
profiles cover every tile plan, the engine cache key and load-or-build policy, and probe()/
create_backend() saying exactly what is missing. With a GPU and TensorRT (marked `cuda`): parity
with ONNX Runtime on the example images, the on-disk engine cache, profile growth, threads.
"""

import importlib.util
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import cellrt
from cellrt import _backend
from cellrt.io.images import read_image
from cellrt.io.normalize import normalize
from cellrt.engine.tiling import TilePlan, input_profile
from cellrt.runtime import tensorrt as trtb
from cellrt.runtime.backends import BackendUnavailable, create_backend
from cellrt.runtime.package import ModelPackage, PackageError
from tests.tolerances import tol

EXAMPLES = Path(cellrt.__file__).parent / "examples"
MODELS = ("nuclei-fluo", "nuclei-he")


@pytest.fixture(scope="module")
def packages() -> dict:
    return {name: ModelPackage.load(name) for name in MODELS}


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


# --------------------------------------------------------------------------------------------
# Operator support


@pytest.mark.parametrize("model", MODELS)
def test_shipped_graphs_use_only_tensorrt10_ops(packages, model):
    pytest.importorskip("onnx")
    assert trtb.unsupported_onnx_ops(packages[model].onnx_bytes) == []


def _graph_with_unsupported_ops() -> bytes:
    """Relu (supported) and, hidden in every place a parser must look: Unique at top level, a
    custom-domain op, StringNormalizer inside an If branch, Det inside a local function."""
    onnx = pytest.importorskip("onnx")
    h, tp = onnx.helper, onnx.TensorProto
    then_branch = h.make_graph([h.make_node("StringNormalizer", ["s"], ["t"])], "then", [],
                               [h.make_tensor_value_info("t", tp.STRING, None)])
    else_branch = h.make_graph([h.make_node("Relu", ["x"], ["e"])], "else", [],
                               [h.make_tensor_value_info("e", tp.FLOAT, None)])
    local = h.make_function("local", "Fn", ["a"], ["b"], [h.make_node("Det", ["a"], ["b"])],
                            opset_imports=[h.make_opsetid("", 17)])
    nodes = [
        h.make_node("Relu", ["x"], ["r"]),
        h.make_node("Unique", ["r"], ["u"]),
        h.make_node("FusedConv", ["r"], ["f"], domain="com.microsoft"),
        h.make_node("Fn", ["r"], ["d"], domain="local"),
        h.make_node("If", ["c"], ["i"], then_branch=then_branch, else_branch=else_branch),
    ]
    graph = h.make_graph(nodes, "g",
                         [h.make_tensor_value_info("x", tp.FLOAT, [4]),
                          h.make_tensor_value_info("c", tp.BOOL, [])],
                         [h.make_tensor_value_info(n, tp.FLOAT, None) for n in "ufdi"])
    model = h.make_model(graph, functions=[local],
                         opset_imports=[h.make_opsetid("", 17), h.make_opsetid("local", 1),
                                        h.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


def test_unsupported_ops_are_found_everywhere():
    blob = _graph_with_unsupported_ops()
    assert trtb.unsupported_onnx_ops(blob) == ["Det", "StringNormalizer", "Unique",
                                               "com.microsoft::FusedConv"]
    # Ops a registered plugin provides are not reported.
    assert trtb.unsupported_onnx_ops(blob, plugins=["Unique", "FusedConv"]) == [
        "Det", "StringNormalizer"]


def test_unsupported_ops_rejects_non_onnx_bytes():
    pytest.importorskip("onnx")
    with pytest.raises(PackageError, match="unsupported_onnx_ops: not an ONNX model"):
        trtb.unsupported_onnx_ops(b"\xff\xff\xff\xff not protobuf")


def test_op_list_is_the_tensorrt_10_0_one():
    # Present since before 10.0 / added after 10.0 (so not safe on every 10.x) / never supported.
    assert {"Conv", "ConvTranspose", "Concat", "Softmax", "RoiAlign", "NonMaxSuppression",
            "LayerNormalization", "Hardmax"} <= trtb.TENSORRT10_ONNX_OPS
    assert not {"DeformConv", "STFT", "HannWindow", "Attention", "RMSNormalization",
                "Unique", "Det", "StringNormalizer"} & trtb.TENSORRT10_ONNX_OPS


# --------------------------------------------------------------------------------------------
# Optimisation profiles

IMAGE_SHAPES = [(8, 8), (37, 300), (256, 256), (360, 360), (520, 696), (1000, 40),
                (2048, 1500), (3000, 3000)]
TILES = [0, 64, 100, 256, 1024]


def test_covers_is_the_closed_box():
    prof = ((1, 1, 8, 8), (4, 1, 64, 64), (4, 1, 128, 128))
    assert trtb.covers(prof, (1, 1, 8, 8)) and trtb.covers(prof, (4, 1, 128, 128))
    assert trtb.covers(prof, (2, 1, 8, 128))
    for outside in [(5, 1, 64, 64), (0, 1, 64, 64), (1, 2, 64, 64), (1, 1, 136, 64),
                    (1, 1, 64, 136), (1, 1, 64, 0), (1, 1, 64)]:
        assert not trtb.covers(prof, outside), outside


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("model", MODELS)
def test_profile_covers_every_tile_plan(packages, model, tile, batch):
    cfg = packages[model].config
    c = cfg.in_channels
    generic = input_profile(cfg, tile, batch) if tile else None
    largest_net_side = 0
    for shape in IMAGE_SHAPES:
        plan = TilePlan.create(shape, tile, cfg.object_halo, cfg.context, cfg.align)
        net_shapes = plan.net_shapes()
        largest_net_side = max(largest_net_side, *(max(hw) for hw in net_shapes))
        per_image = input_profile(cfg, tile, batch, image_shape=shape)
        for prof in [per_image] + ([generic] if generic else []):
            lo, opt, hi = prof
            assert lo == (1, c, cfg.align, cfg.align)
            assert opt[0] == hi[0] == batch and hi[2] == hi[3]
            assert trtb.covers(prof, opt)
            for h, w in net_shapes:
                for n in range(1, batch + 1):
                    assert trtb.covers(prof, (n, c, h, w)), (shape, (n, c, h, w), prof)
        # The per-image opt is a shape this image's plan actually runs at, at full batch.
        assert per_image[1][2:] == tuple(max(s[i] for s in net_shapes) for i in (0, 1))
        if plan.tile == 0:  # one tile: the profile is that image's padded shape, squared
            assert max(per_image[1][2:]) == per_image[2][2]
    if generic:
        # Not looser than needed: large images reach the profile's maximum.
        assert generic[2][2] == generic[1][2] == largest_net_side


def test_profile_arguments_are_checked(packages):
    cfg = packages["nuclei-fluo"].config
    with pytest.raises(ValueError, match=r"tile_size 0 \(whole image\) needs image_shape"):
        input_profile(cfg, 0, 4)
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        input_profile(cfg, 256, 0)
    with pytest.raises(ValueError, match="tile_size must be >= 0, got -8"):
        input_profile(cfg, -8, 1)
    with pytest.raises(TypeError, match="batch must be an int, got float"):
        input_profile(cfg, 256, 2.0)
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W\), got \(1, 64, 64\)"):
        input_profile(cfg, 256, 1, image_shape=(1, 64, 64))


def test_grow_profile_covers_old_and_new():
    prof = ((1, 1, 8, 8), (4, 1, 560, 560), (4, 1, 560, 560))
    grown = trtb.grow_profile(prof, (6, 1, 520, 696))
    assert grown[1] == prof[1]  # still tuned for the common case
    assert trtb.covers(grown, (6, 1, 520, 696)) and trtb.covers(grown, (6, 1, 696, 520))
    assert all(trtb.covers(grown, s) for s in prof)
    assert grown[2] == (6, 1, 768, 768)  # rounded up to GROW_STEP: no rebuild per few pixels
    assert trtb.grow_profile(prof, (2, 1, 64, 64)) == prof  # nothing to grow


# --------------------------------------------------------------------------------------------
# Engine cache

KEY_FIELDS = dict(gpu_name="NVIDIA A100-SXM4-40GB", compute_capability=(8, 0),
                  trt_version="10.3.0", onnx_sha256="ab" * 32, precision="fp32",
                  profile=((1, 1, 8, 8), (4, 1, 1328, 1328), (4, 1, 1328, 1328)))
KEY_CHANGES = dict(gpu_name="NVIDIA L4", compute_capability=(8, 9), trt_version="10.3.1",
                   onnx_sha256="cd" * 32, precision="fp16",
                   profile=((1, 1, 8, 8), (4, 1, 1328, 1328), (4, 1, 1336, 1336)))


def test_engine_key_changes_with_each_input():
    base = trtb.engine_key(**KEY_FIELDS)
    assert re.fullmatch("[0-9a-f]{64}", base)
    keys = {base}
    for field, value in KEY_CHANGES.items():
        changed = trtb.engine_key(**{**KEY_FIELDS, field: value})
        assert changed != base, field
        keys.add(changed)
    assert len(keys) == 1 + len(KEY_CHANGES)


def test_engine_key_is_stable():
    base = trtb.engine_key(**KEY_FIELDS)
    # Same values in other container types (lists from JSON, numpy ints from shapes) -> same key.
    as_lists = {**KEY_FIELDS, "compute_capability": [8, 0],
                "profile": [list(map(np.int64, s)) for s in KEY_FIELDS["profile"]]}
    assert trtb.engine_key(**as_lists) == base
    # And in another process (no dependence on hash randomisation or object identity).
    code = ("import json, sys; from cellrt.runtime import tensorrt as t; "
            "print(t.engine_key(**json.loads(sys.argv[1])))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(KEY_FIELDS)], check=True,
                         capture_output=True, text=True,
                         env={"PYTHONPATH": str(Path(cellrt.__file__).parent.parent),
                              "PYTHONHASHSEED": "123"})
    assert out.stdout.strip() == base


def test_cache_paths(tmp_path, monkeypatch):
    key = trtb.engine_key(**KEY_FIELDS)
    assert trtb.engine_path(key, tmp_path) == tmp_path / f"{key}.engine"
    monkeypatch.setenv("CELLRT_CACHE_DIR", str(tmp_path / "c"))
    assert trtb.default_cache_dir() == tmp_path / "c" / "tensorrt"
    monkeypatch.delenv("CELLRT_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert trtb.default_cache_dir() == tmp_path / "home" / ".cache" / "cellrt" / "tensorrt"

    def timing(**change):
        f = {**KEY_FIELDS, **change}
        return trtb.timing_cache_path(tmp_path, f["gpu_name"], f["compute_capability"],
                                      f["trt_version"])

    assert timing().parent == tmp_path and timing() == timing()
    # One timing cache per GPU model and TensorRT version, shared by models and precisions.
    assert len({timing(), timing(gpu_name="NVIDIA L4"), timing(compute_capability=(8, 6)),
                timing(trt_version="10.4.0")}) == 4
    assert timing(precision="fp16", onnx_sha256="00" * 32) == timing()


# load_or_build's deserializer is TensorRT's on a GPU; here a format check with the same contract
# (None for bytes it cannot use) exercises the cache policy with real files.
MAGIC = b"ENGINE\x01"


def _deserialize(blob: bytes):
    return blob[len(MAGIC):] if blob.startswith(MAGIC) and len(blob) > len(MAGIC) else None


class _Builder:
    def __init__(self, payload: bytes = b"weights"):
        self.calls = 0
        self.payload = payload

    def __call__(self) -> bytes:
        self.calls += 1
        return MAGIC + self.payload


def test_load_or_build_caches_and_rebuilds_what_does_not_load(tmp_path):
    path = tmp_path / "new" / "k.engine"
    build = _Builder()
    assert trtb.load_or_build(path, _deserialize, build) == (b"weights", True)
    assert path.read_bytes() == MAGIC + b"weights"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert trtb.load_or_build(path, _deserialize, build) == (b"weights", False)
    assert build.calls == 1
    for damaged in (b"\x00garbage", MAGIC[:3], MAGIC):  # corrupt, truncated, empty payload
        path.write_bytes(damaged)
        assert trtb.load_or_build(path, _deserialize, build) == (b"weights", True)
        assert path.read_bytes() == MAGIC + b"weights"
    assert build.calls == 4


def test_load_or_build_failures_leave_no_file(tmp_path):
    path = tmp_path / "k.engine"

    def failing_build() -> bytes:
        raise RuntimeError("builder out of memory")

    with pytest.raises(RuntimeError, match="builder out of memory"):
        trtb.load_or_build(path, _deserialize, failing_build)
    assert not path.exists()
    with pytest.raises(RuntimeError, match="cannot load the engine it has just built"):
        trtb.load_or_build(path, _deserialize, lambda: b"not an engine")


# --------------------------------------------------------------------------------------------
# Arguments


def test_parse_device():
    assert [trtb.parse_device(d) for d in (None, "cuda", "cuda:1", 2)] == [0, 0, 1, 2]
    for bad in ("cpu", "cuda:", "cuda:x", -1, True, 1.0):
        with pytest.raises(ValueError, match="device must be None, a device index"):
            trtb.parse_device(bad)


def test_check_batch():
    x = np.zeros((2, 3, 16, 24), np.float64)
    out = trtb.check_batch(x, 3, 8)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == x.shape
    with pytest.raises(TypeError, match="batch must be a numpy array, got list"):
        trtb.check_batch([[0.0]], 3, 8)
    with pytest.raises(ValueError, match=r"shape \(N, 1, H, W\), got \(2, 3, 16, 24\)"):
        trtb.check_batch(x, 1, 8)
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\), got \(3, 16, 24\)"):
        trtb.check_batch(x[0], 3, 8)
    with pytest.raises(ValueError, match="multiples of 8 .* got 16 x 20"):
        trtb.check_batch(x[..., :20], 3, 8)


def test_constructor_checks_arguments_before_probing(packages):
    pkg = packages["nuclei-fluo"]
    with pytest.raises(ValueError, match=r"precision must be one of \('fp32', 'fp16'\), "
                                         r"got 'bf16'") as info:
        trtb.TensorRTBackend(pkg, precision="bf16")
    assert not isinstance(info.value, BackendUnavailable)
    with pytest.raises(ValueError, match="device must be None") as info:
        trtb.TensorRTBackend(pkg, device="cpu")
    assert not isinstance(info.value, BackendUnavailable)


# --------------------------------------------------------------------------------------------
# What this machine offers


def _probe_failure() -> str:
    try:
        offered = trtb.probe()
    except BackendUnavailable as exc:
        return str(exc)
    pytest.skip(f"TensorRT is usable here (offers {offered})")


def test_probe_names_what_is_missing():
    reason = _probe_failure()
    assert "\n" not in reason
    if not _importable("tensorrt"):
        assert reason.startswith("tensorrt is not importable (No module named 'tensorrt')")
        assert "pip install tensorrt" in reason
        return
    import tensorrt

    if not tensorrt.__version__.startswith("10."):
        assert reason.startswith(f"tensorrt {tensorrt.__version__} is installed, this backend "
                                 "needs TensorRT 10")
    elif trtb.gpu_unavailable_reason():
        assert reason == trtb.gpu_unavailable_reason()
    else:
        assert reason.startswith("TensorRT needs torch with CUDA or cuda-python")


def test_gpu_unavailable_reason_asks_every_source():
    reason = trtb.gpu_unavailable_reason()
    if reason is None:
        pytest.skip("a CUDA GPU is usable here")
    assert reason.startswith("no usable CUDA GPU: ")
    assert f"cellrt: {_backend.CUDA_UNAVAILABLE_REASON}" in reason
    if _importable("torch"):
        assert re.search(r"torch \S+ (is a CPU-only build|\(CUDA [\d.]+\) sees no device)",
                         reason)
    if _importable("cuda.bindings"):
        assert re.search(r"cuda-python(: cudaGetDeviceCount failed: cudaError\w+ \(.+\)| sees 0)",
                         reason)


def test_io_path():
    torch_gpu = _importable("torch") and __import__("torch").cuda.is_available()
    if torch_gpu:
        assert trtb.io_path() == "torch"
    elif _importable("cuda.bindings"):
        assert trtb.io_path() == "cuda-python"
    else:
        with pytest.raises(BackendUnavailable, match="needs torch with CUDA or cuda-python"):
            trtb.io_path()


def test_create_backend_raises_the_probe_reason(packages):
    reason = _probe_failure()
    with pytest.raises(BackendUnavailable) as info:
        create_backend(packages["nuclei-fluo"], "tensorrt")
    assert str(info.value) == reason
    assert isinstance(info.value, ValueError)  # the CLI turns ValueErrors into one line
    with pytest.raises(BackendUnavailable, match=re.escape(reason)):
        trtb.TensorRTBackend(packages["nuclei-fluo"])


# --------------------------------------------------------------------------------------------
# On a GPU with TensorRT


@pytest.fixture(scope="module")
def trt_precisions() -> tuple:
    try:
        return trtb.probe()
    except BackendUnavailable as exc:
        pytest.skip(f"TensorRT is not usable here: {exc}")


def _example_batches(config: dict) -> list:
    """The example images, normalised as the pipeline does, padded to `align`, as (1, C, H, W)."""
    align = config.align
    batches = []
    for path in sorted(EXAMPLES.glob("dsb_fluo_*.png")):
        x = normalize(read_image(path), config.in_channels).transpose(2, 0, 1)
        h, w = x.shape[1:]
        x = np.pad(x, ((0, 0), (0, -h % align), (0, -w % align)))
        batches.append(np.ascontiguousarray(x[None]))
    return batches


def _whole_image(pkg) -> dict:
    """The largest example image's whole-image profile: it covers all four."""
    return {"profile": input_profile(pkg.config, 0, 1, image_shape=(520, 696))}


def _reference(package, batches):
    from cellrt.runtime.onnx_backend import OnnxRuntimeBackend

    ort = OnnxRuntimeBackend(package, threads=1)
    return [ort.run(x) for x in batches]


def _assert_close(got: dict, ref: dict, config: dict, precision: str):
    atol = tol("network", "float16" if precision == "fp16" else "float32")["atol"]
    # Distances are in pixels: the network predicts them in units of dist_scale.
    scale = {"dist": config.model_config["dist_scale"]}
    assert tuple(got) == config.outputs
    for name, want in ref.items():
        assert got[name].dtype == np.float32 and got[name].shape == want.shape, name
        diff = float(np.abs(got[name] - want).max())
        assert diff < atol * scale.get(name, 1.0), f"{name}: max |TensorRT - ORT| = {diff}"


@pytest.mark.cuda
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize("model", MODELS)
def test_matches_onnxruntime(packages, trt_precisions, tmp_path, model, precision):
    if precision not in trt_precisions:
        pytest.skip(f"this GPU has no fast {precision}")
    pkg = packages[model]
    batches = _example_batches(pkg.config)
    backend = trtb.TensorRTBackend(pkg, precision=precision, cache_dir=tmp_path, **_whole_image(pkg))
    assert backend.precision == precision
    for x, ref in zip(batches, _reference(pkg, batches)):
        _assert_close(backend.run(x), ref, pkg.config, precision)


@pytest.mark.cuda
def test_engine_is_cached_and_a_bad_file_rebuilt(packages, trt_precisions, tmp_path):
    pkg = packages["nuclei-fluo"]
    x = _example_batches(pkg.config)[3]
    first = trtb.TensorRTBackend(pkg, cache_dir=tmp_path, **_whole_image(pkg))
    assert first.builds == 1
    assert first.engine_file.parent == tmp_path and first.engine_file.is_file()
    assert first.timing_cache_file.is_file()
    expected = first.run(x)

    second = trtb.TensorRTBackend(pkg, cache_dir=tmp_path, **_whole_image(pkg))
    assert second.builds == 0  # loaded from disk
    assert second.engine_file == first.engine_file
    for name, want in expected.items():  # the same engine, hence the same tactics
        np.testing.assert_allclose(second.run(x)[name], want, rtol=0, atol=1e-6)

    engine = first.engine_file.read_bytes()
    for damaged in (b"not an engine", engine[: len(engine) // 2]):
        first.engine_file.write_bytes(damaged)
        rebuilt = trtb.TensorRTBackend(pkg, cache_dir=tmp_path, **_whole_image(pkg))
        assert rebuilt.builds == 1
        _assert_close(rebuilt.run(x), _reference(pkg, [x])[0], pkg.config, "fp32")


@pytest.mark.cuda
def test_out_of_profile_input_gets_a_wider_engine(packages, trt_precisions, tmp_path):
    pkg = packages["nuclei-fluo"]
    small, large = _example_batches(pkg.config)[0], _example_batches(pkg.config)[3]
    backend = trtb.TensorRTBackend(pkg, cache_dir=tmp_path,
                                   profile=input_profile(pkg.config, 0, 1, small.shape[2:]))
    pair = np.concatenate([large, large[..., ::-1]])  # batch 2 and 696 wide: outside on 3 axes
    assert not trtb.covers(backend.profile, pair.shape)
    got = backend.run(pair)
    assert backend.builds == 2 and trtb.covers(backend.profile, pair.shape)
    ref = _reference(pkg, [pair])[0]
    _assert_close(got, ref, pkg.config, "fp32")
    _assert_close(backend.run(small), _reference(pkg, [small])[0], pkg.config, "fp32")
    assert backend.builds == 2  # the wider engine covers the old shapes too


@pytest.mark.cuda
def test_threads_get_the_same_results(packages, trt_precisions, tmp_path):
    pkg = packages["nuclei-he"]
    batches = _example_batches(pkg.config)
    backend = trtb.TensorRTBackend(pkg, cache_dir=tmp_path, **_whole_image(pkg))
    expected = [backend.run(x) for x in batches]
    results, errors = {}, []

    def work(tid: int):
        try:
            order = np.random.default_rng(tid).permutation(len(batches) * 3) % len(batches)
            results[tid] = [(int(i), backend.run(batches[i])) for i in order]
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == [0, 1, 2, 3]
    for runs in results.values():
        for i, got in runs:
            for name, want in expected[i].items():
                # One engine, one set of tactics: the same numbers up to float rounding.
                np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-6)


@pytest.mark.cuda
def test_empty_batch(packages, trt_precisions, tmp_path):
    pkg = packages["nuclei-he"]
    backend = trtb.TensorRTBackend(pkg, cache_dir=tmp_path, **_whole_image(pkg))
    out = backend.run(np.zeros((0, 3, 64, 80), np.float32))
    assert {k: v.shape for k, v in out.items()} == {
        "fg_prob": (0, 1, 64, 80), "dist": (0, 4, 64, 80),
        "type_prob": (0, pkg.config.model_config["num_classes"], 64, 80)}
