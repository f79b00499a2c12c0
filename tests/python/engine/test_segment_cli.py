"""`cellrt segment`, `cellrt demo` and `cellrt eval` as a user runs them: real files, a real
subprocess, bad inputs among good ones."""

import json
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile

import cellrt
from cellrt.io.images import read_image

EXAMPLES = Path(cellrt.__file__).parent / "examples"


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cellrt.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.fixture
def bad_and_good(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    good = EXAMPLES / "dsb_fluo_1.png"
    shutil.copy(good, d / "good.png")
    data = good.read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 3])
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8 this is not a jpeg" * 10)
    (d / "empty.tif").write_bytes(b"")
    tifffile.imwrite(d / "nan.tif", np.full((32, 32), np.nan, np.float32))
    with warnings.catch_warnings():  # tifffile warns that a 0-sized image is nonconformant
        warnings.simplefilter("ignore", UserWarning)
        tifffile.imwrite(d / "zero.tif", np.zeros((0, 16), np.uint8))
    tifffile.imwrite(d / "complex.tif", np.zeros((16, 16), np.complex64))
    tifffile.imwrite(d / "good16.tif", (tifffile.imread(EXAMPLES / "dsb_fluo_0_labels.tif") > 0)
                     .astype(np.uint16) * 4000)
    return d


def test_segment_folder_with_bad_files(bad_and_good, tmp_path):
    out = tmp_path / "out"
    r = run_cli("segment", bad_and_good, "-o", out)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("cellrt segment: error:")]
    assert len(errors) == 6, r.stderr
    for name, what in [("truncated.png", "corrupt, truncated or empty"),
                       ("corrupt.jpg", "corrupt, truncated or empty"),
                       ("empty.tif", "not a readable TIFF"), ("nan.tif", "NaN"),
                       ("zero.tif", "empty image"),
                       ("complex.tif", "unsupported dtype complex64 (expected one of uint8, "
                                       "uint16, int8, int16, int32, uint32, float32, float64)")]:
        assert any(name in e and what in e for e in errors), (name, errors)
    # The good files were processed despite the bad ones; nothing half-written is left.
    for stem in ("good", "good16"):
        for suffix in ("_labels.tif", "_objects.csv", "_overlay.png", ".geojson"):
            assert (out / f"{stem}{suffix}").is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert len(list(out.iterdir())) == 8


def test_segment_outputs_are_consistent(tmp_path):
    out = tmp_path / "out"
    r = run_cli("segment", EXAMPLES / "dsb_fluo_2.png", "-o", out, "--tile-size", "128")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(out / "dsb_fluo_2_labels.tif")
    assert labels.dtype == np.uint16 and labels.shape == (360, 360)
    n = int(labels.max())
    assert f"{n} objects" in r.stdout
    rows = (out / "dsb_fluo_2_objects.csv").read_text().splitlines()
    assert rows[0].startswith("id,class,class_name,score,area,centroid_y,centroid_x,bbox_y0")
    assert rows[0].endswith("mean_intensity_0")
    assert len(rows) == n + 1
    areas = np.bincount(labels.ravel())[1:]
    assert [int(r.split(",")[4]) for r in rows[1:]] == areas.tolist()
    gj = json.loads((out / "dsb_fluo_2.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == n
    for f in gj["features"]:
        ring = np.array(f["geometry"]["coordinates"][0])
        x, y = ring[:, 0], ring[:, 1]
        shoelace = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
        # pixel-corner polygons enclose exactly the pixels (holes aside, none after fill_holes)
        assert shoelace == areas[int(f["id"]) - 1]
        assert f["properties"]["objectType"] == "detection"


@pytest.mark.parametrize("model,image,channels", [
    ("nuclei-fluo", np.zeros((64, 80), np.uint8), 1),
    ("nuclei-fluo", np.full((64, 80), 1e30, np.float32), 1),
    ("nuclei-he", np.full((64, 80, 3), 200, np.uint8), 3)])
def test_segment_image_without_nuclei(tmp_path, model, image, channels):
    """An empty field (common in a screen) is a result, not an error: 0 objects, the four
    outputs, and a table with the same columns as any other image of that model."""
    src = tmp_path / "blank.tif"
    tifffile.imwrite(src, image)
    out = tmp_path / "out"
    # onnxruntime: "auto" would first time every backend for a model not timed here yet.
    r = run_cli("segment", src, "-o", out, "--model", model, "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert "0 objects" in r.stdout
    assert not tifffile.imread(out / "blank_labels.tif").any()
    rows = (out / "blank_objects.csv").read_text().splitlines()
    assert len(rows) == 1 and rows[0].endswith(f"mean_intensity_{channels - 1}")
    assert json.loads((out / "blank.geojson").read_text())["features"] == []
    assert (out / "blank_overlay.png").is_file()
    table = cellrt.segment(image, model=model, backend="onnxruntime").table
    assert np.asarray(table["mean_intensity"]).shape == (0, channels)


def test_segment_does_not_clobber_on_failure(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not an image")
    (out / "x_labels.tif").write_bytes(b"previous result")
    r = run_cli("segment", bad, "-o", out)
    assert r.returncode == 1
    assert (out / "x_labels.tif").read_bytes() == b"previous result"


@pytest.mark.parametrize("model,msg", [("no-such-model", "unknown model 'no-such-model'"),
                                       ("missing.cellrt", "missing.cellrt: no such file")])
def test_segment_bad_model(tmp_path, model, msg):
    r = run_cli("segment", EXAMPLES / "dsb_fluo_0.png", "-o", tmp_path, "--model", model)
    assert r.returncode == 2
    assert msg in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_segment_output_folder_is_a_file(tmp_path):
    out = tmp_path / "out"
    out.write_bytes(b"keep me")
    r = run_cli("segment", EXAMPLES / "dsb_fluo_1.png", "-o", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"output folder {out} exists and is not a folder" in r.stderr
    assert out.read_bytes() == b"keep me"
    r = run_cli("demo", "-o", out)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert f"output folder {out} exists and is not a folder" in r.stderr
    assert out.read_bytes() == b"keep me"


def test_segment_missing_input(tmp_path):
    r = run_cli("segment", tmp_path / "nope.png", "-o", tmp_path / "o")
    assert r.returncode == 1 and "nope.png: no such file or folder" in r.stderr


def test_demo(tmp_path):
    r = run_cli("demo", "-o", tmp_path / "demo")
    assert r.returncode == 0, r.stderr
    assert "AP@0.5 =" in r.stdout and "PQ =" in r.stdout
    # A typical field: its AP@0.5 near the model's median over its fluorescence test images.
    ap = float(r.stdout.split("AP@0.5 = ")[1].split()[0])
    assert ap > 0.8, r.stdout
    assert "milliseconds per stage: read" in r.stdout and "network" in r.stdout
    for name in ("labels.tif", "objects.csv", "overlay.png"):
        assert (tmp_path / "demo" / f"dsb_fluo_3_{name}").is_file()
    assert (tmp_path / "demo" / "dsb_fluo_3.geojson").is_file()


def test_eval_on_examples(tmp_path):
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "labels").mkdir()
    ids = []
    for i in range(4):
        shutil.copy(EXAMPLES / f"dsb_fluo_{i}.png", data / "images" / f"e{i}.png")
        shutil.copy(EXAMPLES / f"dsb_fluo_{i}_labels.tif", data / "labels" / f"e{i}.tif")
        ids.append(f"e{i}")
    (data / "split.json").write_text(json.dumps({"train": [], "val": [], "test": ids}))
    r = run_cli("eval", "--model", "nuclei-fluo", "--data", data, "--split", "test",
                "--json", tmp_path / "m.json")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "m.json").read_text())
    g = rep["groups"]["all"]
    assert g["images"] == 4 and g["objects_true"] == 62 + 49 + 31 + 102
    assert 0.3 < g["ap50"] <= 1 and 0.3 < g["pq"] <= 1
    # The error anatomy closes: every true object is matched or has one cause, and the matches
    # are PQ's (IoU > 0.5), whose count pooled DQ gives back.
    e = g["errors"]
    true_fates = e["matched"] + sum(v for k, v in e.items() if k.startswith("true_"))
    pred_fates = e["matched"] + sum(v for k, v in e.items() if k.startswith("pred_"))
    assert true_fates == g["objects_true"] and pred_fates == g["objects_pred"]
    assert round(2 * e["matched"] / (g["objects_true"] + g["objects_pred"]), 4) == g["dq"]
    assert "unmatched at IoU > 0.5 (all): true " in r.stdout


def _repack(src: Path, dst: Path, drop=(), replace=None):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in drop:
                continue
            data = (replace or {}).get(name, zin.read(name))
            zout.writestr(name, data)


@pytest.mark.parametrize("kind,msg", [
    ("missing", "missing member(s) model.onnx"),
    ("corrupt_onnx", "model.onnx cannot be loaded"),
    ("version", "format version 99, this cellrt reads version 1"),
    ("not_zip", "not a readable package"),
])
def test_package_validation(tmp_path, kind, msg):
    from cellrt.runtime.package import ZOO

    src, dst = ZOO / "nuclei-fluo.cellrt", tmp_path / "bad.cellrt"
    if kind == "missing":
        _repack(src, dst, drop=("model.onnx",))
    elif kind == "corrupt_onnx":
        _repack(src, dst, replace={"model.onnx": b"\x08\x07garbage" * 50})
    elif kind == "version":
        cfg = json.loads(zipfile.ZipFile(src).read("config.json"))
        cfg["format_version"] = 99
        _repack(src, dst, replace={"config.json": json.dumps(cfg)})
    else:
        dst.write_bytes(b"plain text")
    r = run_cli("segment", EXAMPLES / "dsb_fluo_0.png", "-o", tmp_path / "o", "--model", dst)
    assert r.returncode == 2 and msg in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.fixture
def plates(tmp_path):
    """Two plate folders with the same well names (the usual screen layout), different images."""
    for plate, images in (("plate1", ("dsb_fluo_0.png", "dsb_fluo_1.png")),
                          ("plate2", ("dsb_fluo_1.png", "dsb_fluo_0.png"))):
        (tmp_path / plate).mkdir()
        for well, name in zip(("A01", "A02"), images):
            shutil.copy(EXAMPLES / name, tmp_path / plate / f"{well}.png")
    return tmp_path


def test_segment_plates_with_repeated_names_lose_nothing(plates):
    out = plates / "out"
    r = run_cli("segment", plates / "plate1", plates / "plate2", "-o", out,
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    for plate in ("plate1", "plate2"):
        for well in ("A01", "A02"):
            labels = tifffile.imread(out / plate / f"{well}_labels.tif")
            direct = cellrt.segment(plates / plate / f"{well}.png", backend="onnxruntime")
            assert np.array_equal(labels, direct.labels), (plate, well)
    # plate1/A01 and plate2/A01 are different images: their results differ.
    assert not np.array_equal(tifffile.imread(out / "plate1" / "A01_labels.tif"),
                              tifffile.imread(out / "plate2" / "A01_labels.tif"))


def test_segment_rerun_skips_done_images_and_never_reads_its_outputs(plates):
    plate = plates / "plate1"
    r = run_cli("segment", plate, "-o", plate, "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    before = {p.name: p.stat().st_mtime_ns for p in plate.iterdir()}
    assert len(before) == 2 + 2 * 4
    # Same command again: its outputs are not inputs (no A01_labels_labels.tif), and the done
    # images are skipped, not rewritten.
    r = run_cli("segment", plate, "-o", plate, "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert "skipped 2 of 2 images" in r.stdout and "--overwrite" in r.stdout
    assert {p.name: p.stat().st_mtime_ns for p in plate.iterdir()} == before
    r = run_cli("segment", plate, "-o", plate, "--backend", "onnxruntime", "--overwrite")
    assert r.returncode == 0 and "skipped" not in r.stdout
    after = {p.name: p.stat().st_mtime_ns for p in plate.iterdir()}
    assert after.keys() == before.keys() and after != before


def test_segment_refuses_same_stem_before_writing(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(EXAMPLES / "dsb_fluo_0.png", d / "same.png")
    tifffile.imwrite(d / "same.tif", tifffile.imread(EXAMPLES / "dsb_fluo_0_labels.tif"))
    out = tmp_path / "out"
    r = run_cli("segment", d, "-o", out, "--backend", "onnxruntime")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "same.png" in r.stderr and "same.tif" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_segment_recursive_keeps_relative_paths(plates):
    out = plates.parent / "rec_out"
    r = run_cli("segment", plates, "-o", out, "--recursive", "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*_labels.tif")) == [
        "plate1/A01_labels.tif", "plate1/A02_labels.tif",
        "plate2/A01_labels.tif", "plate2/A02_labels.tif"]
    r = run_cli("segment", plates, "-o", out, "--backend", "onnxruntime")
    assert r.returncode == 1 and "--recursive" not in r.stderr
    assert "has no PNG, JPEG or TIFF images" in r.stderr


def test_segment_stacks_channels_and_pixel_size(tmp_path):
    nuclei = read_image(EXAMPLES / "dsb_fluo_1.png")
    noise = np.random.default_rng(0).integers(0, 30, nuclei.shape).astype(nuclei.dtype)
    d = tmp_path / "in"
    d.mkdir()
    tifffile.imwrite(d / "stack.tif", np.stack([nuclei, nuclei, noise, nuclei, nuclei]))
    tifffile.imwrite(d / "two.ome.tif", np.stack([noise, nuclei]).astype(np.uint16), ome=True,
                     metadata={"axes": "CYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5,
                               "Channel": {"Name": ["GFP", "DAPI"]}})
    out = tmp_path / "out"
    # A stack or several channels without a choice: one line naming the options, no output.
    r = run_cli("segment", d, "-o", out, "--backend", "onnxruntime")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2 and all("--channel" in e and "--z" in e for e in errors), errors
    assert not list(out.rglob("*_labels.tif"))
    r = run_cli("segment", d / "stack.tif", "-o", out, "--z", "all", "--roi-zip",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    # Every plane segmented, written as one stack.
    labels = tifffile.imread(out / "stack_labels.tif")
    direct = cellrt.segment(nuclei, backend="onnxruntime").labels
    assert labels.shape == (5, *nuclei.shape) and not labels[2].any()
    assert all(np.array_equal(labels[z], direct) for z in (0, 1, 3, 4))
    rows = (out / "stack_objects.csv").read_text().splitlines()
    assert rows[0].startswith("z,id,class,")
    zs = [int(row.split(",")[0]) for row in rows[1:]]
    assert zs == sorted(zs) and set(zs) == {0, 1, 3, 4} and len(zs) == 4 * direct.max()
    gj = json.loads((out / "stack.geojson").read_text())
    assert {f["properties"]["plane"]["z"] for f in gj["features"]} == {0, 1, 3, 4}
    from roifile import ImagejRoi

    rois = ImagejRoi.fromfile(out / "stack_rois.zip")
    assert len(rois) == len(zs) and {r.z_position for r in rois} == {1, 2, 4, 5}
    r = run_cli("segment", d / "stack.tif", "-o", out / "max", "--z", "max",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    r = run_cli("segment", d / "two.ome.tif", "-o", out, "--channel", "DAPI",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    rows = (out / "two.ome_objects.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[-3:] == ["area_um2", "centroid_y_um", "centroid_x_um"]
    first = dict(zip(header, rows[1].split(",")))
    assert float(first["area_um2"]) == pytest.approx(int(first["area"]) * 0.25)
    assert float(first["centroid_x_um"]) == pytest.approx(float(first["centroid_x"]) * 0.5,
                                                          abs=1e-3)
    direct = cellrt.segment(nuclei, backend="onnxruntime").labels
    assert np.array_equal(tifffile.imread(out / "two.ome_labels.tif"), direct)


def test_segment_roi_zip_opens_as_imagej_rois(tmp_path):
    import zipfile

    from roifile import ROI_TYPE, ImagejRoi

    out = tmp_path / "out"
    r = run_cli("segment", EXAMPLES / "dsb_fluo_1.png", "-o", out, "--roi-zip",
                "--backend", "onnxruntime")
    assert r.returncode == 0, r.stderr
    labels = tifffile.imread(out / "dsb_fluo_1_labels.tif")
    rois = ImagejRoi.fromfile(out / "dsb_fluo_1_rois.zip")
    assert len(rois) == labels.max() > 0
    with zipfile.ZipFile(out / "dsb_fluo_1_rois.zip") as zf:
        assert all(n.endswith("-nucleus.roi") for n in zf.namelist())
    areas = np.bincount(labels.ravel())[1:]
    for roi in rois:
        assert roi.roitype == ROI_TYPE.POLYGON
        x, y = roi.coordinates().T.astype(float)
        shoelace = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))
        assert shoelace == areas[int(roi.name.split("-")[0]) - 1]
