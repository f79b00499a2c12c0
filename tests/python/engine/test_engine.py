"""cellrt.Engine: segment == the reference one-tile-at-a-time path; segment_many pools tiles
of many images, returns results in input order, identical to single calls; bad frames; threads."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import tifffile

from cellrt.engine.engine import Engine
from cellrt.engine.result import STAGES
from cellrt.engine.segment import segment_image


@pytest.fixture(scope="module")
def engine():
    return Engine("nuclei-fluo", backend="onnxruntime", threads=2, batch_size=3)


def _same(a, b):
    np.testing.assert_array_equal(a.labels, b.labels)
    assert set(a.table) == set(b.table)
    for k in a.table:
        np.testing.assert_allclose(a.table[k], b.table[k], rtol=1e-6, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("tile_size", [None, 128, 200])
def test_segment_equals_reference_path(example_images, tile_size):
    # upscale=False: this compares the batched, tiled path of one pass with the reference.
    eng = Engine("nuclei-fluo", backend="onnxruntime", tile_size=tile_size, batch_size=4,
                 upscale=False)
    for img in example_images:
        got = eng.segment(img)
        ref = segment_image(img, eng.backend, eng.family, tile_size=tile_size)
        _same(got, ref)
        assert got.count > 10


def test_segment_reports_stage_timings(engine, example_images, tmp_path):
    path = tmp_path / "frame.tif"
    tifffile.imwrite(path, example_images[0])
    res = engine.segment(path)
    assert set(res.timings) == set(STAGES)
    assert all(v > 0 for v in res.timings.values())
    _same(res, engine.segment(example_images[0]))


def test_buffers_are_reused_between_calls(engine, example_images):
    engine.segment(example_images[0])
    first = {k: id(v) for k, v in engine._local.buffers.items()}
    engine.segment(example_images[1])  # same size: same buffer, no new allocation
    assert {k: id(v) for k, v in engine._local.buffers.items()} == first


@pytest.mark.parametrize("batch_size,streams", [(1, 1), (3, 1), (3, 2), (8, 2)])
def test_segment_many_in_order_and_identical(example_images, batch_size, streams):
    eng = Engine("nuclei-fluo", backend="onnxruntime", tile_size=192, batch_size=batch_size,
                 streams=streams)
    # Mixed sizes (several tile shapes per image) and repeats, so batches mix images.
    items = [example_images[i % 4] for i in (0, 3, 1, 2, 3, 0, 0, 2, 1)]
    singles = [eng.segment(img) for img in items]
    many = list(eng.segment_many(items))
    assert len(many) == len(items)
    for s, m in zip(singles, many):
        _same(s, m)
        assert set(m.timings) >= {"normalise", "network", "postprocess", "stitch"}


def test_segment_many_accepts_paths_and_generators(engine, example_images, tmp_path):
    paths = []
    for i, img in enumerate(example_images):
        paths.append(tmp_path / f"f{i}.tif")
        tifffile.imwrite(paths[-1], img)
    got = list(engine.segment_many(p for p in paths))
    for g, img in zip(got, example_images):
        _same(g, engine.segment(img))
        assert g.timings["read"] > 0
    assert list(engine.segment_many([])) == []


def test_segment_many_bad_frames(engine, example_images, tmp_path):
    corrupt = tmp_path / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00garbage")
    nan = example_images[0].astype(np.float32)
    nan[5, 5] = np.nan
    items = [example_images[0], nan, example_images[1], corrupt, np.zeros((0, 0)), None,
             example_images[2]]
    out = list(engine.segment_many(items, errors="return"))
    assert [type(o).__name__ for o in out] == [
        "SegmentResult", "ImageError", "SegmentResult", "ImageError", "ImageError",
        "TypeError", "SegmentResult"]
    assert "NaN" in str(out[1]) and "corrupt.tif" in str(out[3])
    assert "image must be an (H, W) or (H, W, 3) array of numbers or an image file path, got " \
           "NoneType" in str(out[5])
    _same(out[6], engine.segment(example_images[2]))
    with pytest.raises(TypeError, match="got object"):
        engine.segment(object())
    seen = []
    with pytest.raises(ValueError, match="NaN"):
        for r in engine.segment_many(items):
            seen.append(r)
    assert len(seen) == 1  # the results before the bad frame came out first
    with pytest.raises(ValueError, match="errors must be one of"):
        list(engine.segment_many(items, errors="ignore"))
    with pytest.raises(ValueError, match="batch_size must be >= 1 or None, got -1"):
        list(engine.segment_many(items, batch_size=-1))


def test_segment_is_thread_safe(engine, example_images):
    items = example_images * 3
    expected = [engine.segment(img) for img in items]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(engine.segment, items))
    for e, g in zip(expected, got):
        _same(e, g)


def test_engine_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        Engine("nuclei-fluo", backend="onnxruntime", batch_size=0)
    with pytest.raises(ValueError, match="precision must be 'auto' when backend is 'auto'"):
        Engine("nuclei-fluo", backend="auto", precision="fp32")
    with pytest.raises(ValueError, match="backend must be one of"):
        Engine("nuclei-fluo", backend="cuda")
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        Engine("nope", backend="onnxruntime")


def test_engine_hands_its_tile_plan_to_the_backend(example_images):
    """The input profile a shape-compiling backend (TensorRT) is built for is the engine's own
    tile plan at its own batch size: every batch segment_many sends fits it, so no engine is
    rebuilt on the first full batch."""
    from cellrt.engine.tiling import TilePlan, input_profile
    from cellrt.runtime.tensorrt import covers

    eng = Engine("nuclei-fluo", backend="onnxruntime", tile_size=128, batch_size=5)
    assert eng.profile == input_profile(eng.config, 128, 5)
    geo = eng.family.geometry()
    c = eng.config.in_channels
    for img in example_images + [np.zeros((1000, 300), np.uint8)]:
        plan = TilePlan.create(img.shape[:2], 128, geo.object_halo, geo.context, geo.align)
        for h, w in plan.net_shapes():
            for n in range(1, 6):
                assert covers(eng.profile, (n, c, h, w)), (img.shape, n, h, w)
    # A whole-image engine names no plan: the backend covers single images and grows.
    assert Engine("nuclei-fluo", backend="onnxruntime", tile_size=0).profile is None


@pytest.mark.cuda
def test_segment_many_on_tensorrt_builds_one_engine(example_images, tmp_path, monkeypatch):
    """On a GPU: segment_many on TensorRT with tiles pooled into full batches runs on the one
    engine built for the Engine's plan, and agrees with ONNX Runtime."""
    from cellrt.metrics import average_precision
    from cellrt.runtime.backends import backend_status

    if not backend_status()["tensorrt"]["usable"]:
        pytest.skip(backend_status()["tensorrt"]["reason"])
    monkeypatch.setenv("CELLRT_CACHE_DIR", str(tmp_path))
    trt = Engine("nuclei-fluo", backend="tensorrt", tile_size=128, batch_size=4)
    ort = Engine("nuclei-fluo", backend="onnxruntime", tile_size=128, batch_size=4)
    images = example_images * 2
    got = list(trt.segment_many(images))
    assert trt.backend.builds == 1
    for img, res in zip(images, got):
        ref = ort.segment(img)
        assert average_precision(ref.labels, res.labels, thresholds=[0.5]).ap[0] >= 0.99
