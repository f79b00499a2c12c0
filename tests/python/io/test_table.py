"""ObjectTable: typed named columns, validation, row operations, and the CSV, pandas and Parquet
forms of the same rows."""

import csv
import io

import numpy as np
import pytest

import cellrt
from cellrt.io.examples import example_path
from cellrt.io.images import read_image
from cellrt.io.table import COLUMNS, ObjectTable


def _table(n=3, channels=2, names=("nucleus", "other")):
    rng = np.random.default_rng(0)
    return ObjectTable.from_columns({
        "id": np.arange(1, n + 1), "class": 1 + np.arange(n) % 2, "score": rng.random(n),
        "area": rng.integers(10, 100, n), "centroid": rng.random((n, 2)) * 50,
        "bbox": rng.integers(0, 50, (n, 4)), "mean_intensity": rng.random((n, channels))},
        names)


def test_columns_have_their_dtypes_and_shapes():
    t = _table()
    for name, (dtype, width) in COLUMNS.items():
        assert t[name].dtype == dtype, name
        assert len(t[name]) == len(t) == 3
        if width not in (1, None):
            assert t[name].shape == (3, width)
    assert t.channels == 2 and list(t) == list(COLUMNS)


def test_class_and_intensity_default():
    t = ObjectTable.from_columns({"id": [4, 7], "score": [0.5, 0.6], "area": [3, 4],
                                  "centroid": np.zeros((2, 2)), "bbox": np.zeros((2, 4))})
    assert t["class"].tolist() == [1, 1] and t["mean_intensity"].shape == (2, 0)


@pytest.mark.parametrize("columns,msg", [
    ({"id": [1], "size": [2]}, r"unknown columns \['size'\]"),
    ({"score": [1.0]}, "'id' column is required"),
    ({"id": [1, 2], "score": [0.5], "area": [1, 2], "centroid": np.zeros((2, 2)),
      "bbox": np.zeros((2, 4))}, "column 'score' has 1 rows, 'id' has 2"),
    ({"id": [1], "score": [0.5]}, r"missing columns \['area', 'centroid', 'bbox'\]"),
])
def test_bad_columns_are_one_clear_error(columns, msg):
    with pytest.raises(ValueError, match=msg):
        ObjectTable.from_columns(columns)


def test_take_shift_replace_concat():
    t = _table(4)
    part = t.take(np.array([2, 0]))
    assert part["id"].tolist() == [3, 1]
    moved = part.shifted(10, 20)
    np.testing.assert_array_equal(moved["bbox"], part["bbox"] + [10, 20, 10, 20])
    np.testing.assert_array_equal(moved["centroid"], part["centroid"] + [10, 20])
    renamed = moved.replace(id=[8, 9])
    assert renamed["id"].dtype == np.int32 and renamed["id"].tolist() == [8, 9]
    both = ObjectTable.concat([t, renamed])
    assert len(both) == 6 and both.class_names == t.class_names
    assert part["id"].tolist() == [3, 1]  # the original is not changed


def test_csv_rows_and_header():
    t = _table()
    rows = list(csv.reader(io.StringIO(t.to_csv().decode())))
    assert rows[0] == ["id", "class", "class_name", "score", "area", "centroid_y", "centroid_x",
                       "bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1", "perimeter", "eccentricity",
                       "major_axis_length", "minor_axis_length", "orientation", "solidity",
                       "mean_intensity_0", "mean_intensity_1"]
    assert len(rows) == 4
    assert rows[2][:3] == ["2", "2", "other"]
    assert float(rows[1][3]) == pytest.approx(t["score"][0], abs=5e-5)


def test_csv_of_an_empty_table_has_the_header(tmp_path):
    t = _table(0, channels=3)
    text = t.to_csv(tmp_path / "e.csv").decode()
    assert text.count("\n") == 1 and text.strip().endswith("mean_intensity_2")
    assert (tmp_path / "e.csv").read_bytes() == text.encode()


def test_pandas_and_parquet_hold_the_same_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    t = _table(5)
    df = t.to_pandas()
    assert list(df.columns) == next(csv.reader(io.StringIO(t.to_csv().decode())))
    np.testing.assert_array_equal(df["area"].to_numpy(), t["area"])
    np.testing.assert_array_equal(df["bbox_x1"].to_numpy(), t["bbox"][:, 3])
    path = t.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(path)
    np.testing.assert_array_equal(back["score"].to_numpy(), t["score"])
    assert back["class_name"].tolist() == ["nucleus", "other", "nucleus", "other", "nucleus"]
    assert back["id"].dtype == np.int32


def test_segment_returns_an_object_table():
    img = read_image(example_path("dsb_fluo_1.png"))
    res = cellrt.segment(img, backend="onnxruntime")
    assert isinstance(res.table, cellrt.ObjectTable)
    assert res.count == len(res.table) == res.labels.max()
    assert res.table["id"].tolist() == list(range(1, res.count + 1))
    assert res.class_names == ("nucleus",)


def test_pixel_size_adds_micrometre_columns():
    t = _table().with_pixel_size(0.5)
    rows = list(csv.reader(io.StringIO(t.to_csv().decode())))
    assert rows[0][-3:] == ["area_um2", "centroid_y_um", "centroid_x_um"]
    assert float(rows[1][-3]) == pytest.approx(t["area"][0] * 0.25)
    df = t.to_pandas()
    assert df["centroid_x_um"].tolist() == pytest.approx((t["centroid"][:, 1] * 0.5).tolist())
    assert t.take(np.array([0])).pixel_size == 0.5 and t.replace(id=[4, 5, 6]).pixel_size == 0.5
    with pytest.raises(ValueError, match="pixel_size"):
        t.with_pixel_size(-1.0)
