"""`ObjectTable`: one row per segmented object, with named, typed columns.

Columns (N rows; coordinates in pixels of the image, y first; bbox half-open):

    id              int32 (N,)       instance label in the label image, ascending
    class           int32 (N,)       class id 1..K (names in `class_names`)
    score           float64 (N,)     mean foreground probability over the instance
    area            int64 (N,)       pixels
    centroid        float64 (N, 2)   (y, x) mean pixel coordinate
    bbox            int64 (N, 4)     (y0, x0, y1, x1)
    mean_intensity  float64 (N, C)   mean of each image channel over the instance
    perimeter, eccentricity, major_axis_length, minor_axis_length, orientation, solidity
                    float64 (N,)     shape (scikit-image's definitions, cellrt.ops.regionprops;
                                     NaN where a table was built without them)

With a known pixel size (`with_pixel_size`, read from OME-TIFF or ImageJ metadata), the exports
add area_um2, centroid_y_um and centroid_x_um.

`table["area"]` reads a column. Flat columns (centroid_y, bbox_x1, mean_intensity_0, ...)
are what `to_csv`, `to_pandas` and `to_parquet` write.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# name -> (dtype, number of values per row; None: any (the image's channels))
COLUMNS: dict[str, tuple[type, int | None]] = {
    "id": (np.int32, 1),
    "class": (np.int32, 1),
    "score": (np.float64, 1),
    "area": (np.int64, 1),
    "centroid": (np.float64, 2),
    "bbox": (np.int64, 4),
    "mean_intensity": (np.float64, None),
    "perimeter": (np.float64, 1),
    "eccentricity": (np.float64, 1),
    "major_axis_length": (np.float64, 1),
    "minor_axis_length": (np.float64, 1),
    "orientation": (np.float64, 1),
    "solidity": (np.float64, 1),
}
SHAPE_COLUMNS = ("perimeter", "eccentricity", "major_axis_length", "minor_axis_length",
                 "orientation", "solidity")


def _column(name: str, values, n: int | None) -> np.ndarray:
    dtype, width = COLUMNS[name]
    a = np.asarray(values)
    if width == 1:
        a = a.reshape(-1)
    elif width is None:
        a = a.reshape(len(a), -1) if a.ndim != 2 else a
    else:
        a = a.reshape(-1, width)
    if n is not None and len(a) != n:
        raise ValueError(f"ObjectTable: column {name!r} has {len(a)} rows, 'id' has {n}")
    return a.astype(dtype, copy=False)


@dataclass(frozen=True)
class ObjectTable:
    """See the module docstring. Build one with `ObjectTable.from_columns`."""

    columns: dict[str, np.ndarray]
    class_names: tuple[str, ...] = ("nucleus",)
    pixel_size: float | None = None  # µm per pixel, when known: adds µm columns to the exports

    @classmethod
    def from_columns(cls, columns: dict, class_names=("nucleus",)) -> "ObjectTable":
        """Validate and type `columns` (every name of COLUMNS; "class" defaults to 1)."""
        columns = {k: v for k, v in columns.items() if k != "area_convex"}  # solidity has it
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"ObjectTable: unknown columns {sorted(unknown)} "
                             f"(expected {list(COLUMNS)})")
        if "id" not in columns:
            raise ValueError("ObjectTable: the 'id' column is required")
        ids = _column("id", columns["id"], None)
        n = len(ids)
        values = dict(columns)
        values.setdefault("class", np.ones(n, np.int32))
        values.setdefault("mean_intensity", np.zeros((n, 0)))
        for c in SHAPE_COLUMNS:
            values.setdefault(c, np.full(n, np.nan))
        missing = [c for c in COLUMNS if c not in values]
        if missing:
            raise ValueError(f"ObjectTable: missing columns {missing}")
        typed = {"id": ids, **{c: _column(c, values[c], n) for c in COLUMNS if c != "id"}}
        return cls(typed, tuple(class_names))

    @classmethod
    def concat(cls, tables: list["ObjectTable"]) -> "ObjectTable":
        """The rows of `tables` in order (at least one table; class names of the first)."""
        cols = {c: np.concatenate([t.columns[c] for t in tables]) for c in COLUMNS}
        return cls(cols, tables[0].class_names)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def __iter__(self):
        return iter(COLUMNS)

    def keys(self):
        return COLUMNS.keys()

    @property
    def channels(self) -> int:
        return self.columns["mean_intensity"].shape[1]

    def take(self, rows) -> "ObjectTable":
        """The table of `rows` (an index array or boolean mask), in that order."""
        return ObjectTable({c: v[rows] for c, v in self.columns.items()}, self.class_names,
                           self.pixel_size)

    def replace(self, **columns) -> "ObjectTable":
        """A copy with the given columns replaced (validated as in from_columns)."""
        table = ObjectTable.from_columns({**self.columns, **columns}, self.class_names)
        return table.with_pixel_size(self.pixel_size)

    def with_pixel_size(self, pixel_size: float | None) -> "ObjectTable":
        """This table with its pixel size in µm (None: unknown); the exports then add
        area_um2, centroid_y_um and centroid_x_um."""
        if pixel_size is not None and not (np.isfinite(pixel_size) and pixel_size > 0):
            raise ValueError(f"ObjectTable: pixel_size must be a positive number of µm or None, "
                             f"got {pixel_size!r}")
        return ObjectTable(self.columns, self.class_names,
                           None if pixel_size is None else float(pixel_size))

    def shifted(self, dy: int, dx: int) -> "ObjectTable":
        """The table with its coordinates moved by (dy, dx) pixels."""
        return self.replace(bbox=self.columns["bbox"] + np.array([dy, dx, dy, dx]),
                            centroid=self.columns["centroid"] + np.array([dy, dx], np.float64))

    def median_diameter(self) -> float:
        """Median diameter (px) of the circles of the objects' areas; 0.0 without objects."""
        area = self.columns["area"]
        return float(np.median(np.sqrt(area * (4.0 / np.pi)))) if len(area) else 0.0

    def class_name(self, cls: int) -> str:
        return self.class_names[cls - 1] if 0 < cls <= len(self.class_names) else str(cls)

    def flat_columns(self) -> dict[str, np.ndarray]:
        """One 1-D array per flat column, in CSV order (class_name included)."""
        c = self.columns
        flat = {"id": c["id"], "class": c["class"],
                "class_name": np.array([self.class_name(int(k)) for k in c["class"]], dtype=object),
                "score": c["score"], "area": c["area"],
                "centroid_y": c["centroid"][:, 0], "centroid_x": c["centroid"][:, 1]}
        for i, name in enumerate(("bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1")):
            flat[name] = c["bbox"][:, i]
        for name in SHAPE_COLUMNS:
            flat[name] = c[name]
        for i in range(self.channels):
            flat[f"mean_intensity_{i}"] = c["mean_intensity"][:, i]
        if self.pixel_size is not None:
            um = self.pixel_size
            flat["area_um2"] = c["area"] * um * um
            flat["centroid_y_um"] = c["centroid"][:, 0] * um
            flat["centroid_x_um"] = c["centroid"][:, 1] * um
        return flat

    def to_csv(self, path: str | Path | None = None) -> bytes:
        """CSV text (header + one row per object; 4 decimals for scores and intensities, 3 for
        centroids) as bytes; also written atomically to `path` when given."""
        c = self.columns
        header = list(self.flat_columns())
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        for i in range(len(self)):
            cls = int(c["class"][i])
            cy, cx = c["centroid"][i]
            row = [int(c["id"][i]), cls, self.class_name(cls), f"{float(c['score'][i]):.4f}",
                   int(c["area"][i]), f"{cy:.3f}", f"{cx:.3f}", *map(int, c["bbox"][i])]
            row += [f"{float(c[name][i]):.4f}" for name in SHAPE_COLUMNS]
            row += [f"{v:.4f}" for v in c["mean_intensity"][i]]
            if self.pixel_size is not None:
                um = self.pixel_size
                row += [f"{c['area'][i] * um * um:.4f}", f"{cy * um:.4f}", f"{cx * um:.4f}"]
            w.writerow(row)
        data = out.getvalue().encode()
        if path is not None:
            from cellrt.io.atomic import atomic_write_bytes

            atomic_write_bytes(path, data)
        return data

    def to_pandas(self):
        """A pandas DataFrame of the flat columns (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise ValueError("ObjectTable.to_pandas needs pandas: pip install pandas") from None
        return pd.DataFrame(self.flat_columns())

    def to_parquet(self, path: str | Path) -> Path:
        """Write the flat columns as a Parquet file, atomically (needs pyarrow)."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("ObjectTable.to_parquet needs pyarrow: pip install pyarrow") from None
        from cellrt.io.atomic import atomic_write_bytes

        flat = self.flat_columns()
        flat["class_name"] = flat["class_name"].astype(str)
        buf = pa.BufferOutputStream()
        pq.write_table(pa.table(flat), buf)
        return atomic_write_bytes(path, buf.getvalue().to_pybytes())
