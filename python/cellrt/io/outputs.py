"""Result files: label TIFF, object table CSV, outline overlay PNG, GeoJSON polygons.

Every file is encoded first, then written atomically (cellrt.io.atomic), so an interrupted run
never leaves a half-written file under the final name."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from cellrt.io.atomic import atomic_write_bytes
from cellrt.io.normalize import normalize
from cellrt.io.table import ObjectTable

# Outline colours per class id (RGB), cycling; class 1 is yellow so one-class models look familiar.
_PALETTE = np.array([[255, 255, 0], [0, 255, 255], [255, 0, 255], [0, 255, 0], [255, 128, 0],
                     [128, 128, 255]], dtype=np.uint8)


def labels_tiff_bytes(labels: np.ndarray) -> bytes:
    import tifffile

    dtype = np.uint16 if labels.max(initial=0) < 2**16 else np.uint32
    buf = io.BytesIO()
    tifffile.imwrite(buf, labels.astype(dtype), compression="zlib")
    return buf.getvalue()


def outlines(labels: np.ndarray) -> np.ndarray:
    """Boolean mask of instance pixels with a 4-neighbour of another label (inner boundaries)."""
    edge = np.zeros(labels.shape, dtype=bool)
    edge[:-1] |= labels[:-1] != labels[1:]
    edge[1:] |= labels[1:] != labels[:-1]
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    return edge & (labels > 0)


def display_rgb(image: np.ndarray) -> np.ndarray:
    """Any supported image -> uint8 RGB for display. Gray: percentile stretch over the whole
    image (fluorescence is often dim). Colour: its own colours (uint8 as is; other dtypes scaled
    by one factor for all channels), since a per-channel stretch changes the stain's hue."""
    if image.ndim == 3:
        if image.dtype == np.uint8:
            return np.ascontiguousarray(image)
        img = image.astype(np.float64)
        top = float(np.max(img)) if img.size else 0.0
        scale = 255.0 / (np.iinfo(image.dtype).max if image.dtype.kind in "ui" else top or 1.0)
        return np.clip(img * scale, 0, 255).astype(np.uint8)
    rgb = normalize(image, 1)
    rgb = np.clip(rgb * 255.0, 0, 255).astype(np.uint8)
    return np.repeat(rgb, 3, axis=2)


def _legend(rgb: np.ndarray, class_names: tuple[str, ...]) -> None:
    """Class colour swatches and names in the top-left corner, on a dark box."""
    import cv2

    scale, pad = 0.4, 4
    line = int(14 * scale / 0.4)
    width = max(cv2.getTextSize(n, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
                for n in class_names) + line + 3 * pad
    height = len(class_names) * line + 2 * pad
    h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
    rgb[:h, :w] = (rgb[:h, :w] * 0.3).astype(np.uint8)
    for i, name in enumerate(class_names):
        y = pad + i * line
        colour = tuple(int(c) for c in _PALETTE[i % len(_PALETTE)])
        cv2.rectangle(rgb, (pad, y + 2), (pad + line - 4, y + line - 2), colour, -1)
        cv2.putText(rgb, name, (2 * pad + line, y + line - 3), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    colour, 1, cv2.LINE_AA)


def overlay_png_bytes(image: np.ndarray, labels: np.ndarray, table: ObjectTable) -> bytes:
    """The image with every object's outline in its class colour; where the image is bright
    under the outline (saturated nuclei) the colour is darkened so it stays visible. Models of
    several classes get a legend."""
    return stack_overlay_png_bytes(image, [(labels, table)])


def stack_overlay_png_bytes(image: np.ndarray, planes: list) -> bytes:
    """overlay_png_bytes with the outlines of several planes' [(labels, table)] on one image
    (a z stack's maximum projection)."""
    import cv2

    rgb = display_rgb(image)
    for labels, table in planes:
        _draw_outlines(rgb, labels, table)
    if len(planes[0][1].class_names) > 1:
        _legend(rgb, planes[0][1].class_names)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise ValueError("overlay: PNG encoding failed")
    return png.tobytes()


def _draw_outlines(rgb: np.ndarray, labels: np.ndarray, table: ObjectTable) -> None:
    cls_of = np.zeros(int(labels.max(initial=0)) + 1, dtype=np.int64)
    cls_of[np.asarray(table["id"], dtype=np.int64)] = np.asarray(table["class"], dtype=np.int64)
    edge = outlines(labels)
    colour = _PALETTE[(cls_of[labels[edge]] - 1) % len(_PALETTE)].astype(np.float64)
    under = rgb[edge].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    # Contrast with the pixel beneath: a bright class colour on a bright pixel turns dark.
    bright = (under > 150) & (colour @ np.array([0.299, 0.587, 0.114]) > 150)
    colour[bright] *= 0.35
    rgb[edge] = colour.astype(np.uint8)


def polygons(labels: np.ndarray, table: ObjectTable):
    """(row, outer contour (n, 2) x, y in pixel-corner coordinates) of every object, in table
    order: the polygon covers exactly the object's pixels (holes aside)."""
    import cv2

    for i in range(len(table["id"])):
        lid = int(table["id"][i])
        y0, x0, y1, x1 = map(int, table["bbox"][i])
        crop = (labels[y0:y1, x0:x1] == lid).astype(np.uint8)
        # OpenCV traces boundary pixel centres. On the 2x up-sampled (and 1-padded) mask the
        # boundary pixels sit on even coordinates at left/top edges and odd ones at right/bottom
        # edges, so ceil(b / 2) - 1 is exactly the pixel-corner coordinate: the polygon covers
        # its pixels, QuPath's and ImageJ's convention.
        big = np.kron(np.pad(crop, 1), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            continue
        c = max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64)
        pts = np.ceil(c / 2.0) - 1.0 + [x0, y0]
        yield i, pts[np.r_[True, np.any(pts[1:] != pts[:-1], axis=1)]]  # no repeated vertices


def geojson_bytes(labels: np.ndarray, table: ObjectTable) -> bytes:
    """QuPath-compatible FeatureCollection: one detection polygon per instance (outer contour,
    pixel-corner coordinates x, y), with class and measurements."""
    return json.dumps({"type": "FeatureCollection",
                       "features": _features(labels, table)}).encode()


def _features(labels: np.ndarray, table: ObjectTable, z: int | None = None) -> list:
    """GeoJSON features of one plane (with the plane's z index in the properties, if any)."""
    feats = []
    for i, pts in polygons(labels, table):
        lid = int(table["id"][i])
        ring = pts.tolist() + [pts[0].tolist()]
        name = table.class_name(int(table["class"][i]))
        feats.append({
            "type": "Feature",
            "id": str(lid),
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "objectType": "detection",
                "classification": {"name": name},
                "measurements": {"id": lid, "score": round(float(table["score"][i]), 4),
                                 "area": int(table["area"][i])},
                **({} if z is None else {"plane": {"z": z}}),
            },
        })
    return feats


def roi_zip_bytes(labels: np.ndarray, table: ObjectTable) -> bytes:
    """Fiji/ImageJ RoiSet zip (ROI Manager > More > Open): one polygon ROI per object, named
    "<id>-<class name>", outlines as in the GeoJSON (needs roifile)."""
    return stack_roi_zip_bytes([(labels, table)])


def stack_roi_zip_bytes(planes: list) -> bytes:
    """roi_zip_bytes of several planes [(labels, table)]: with more than one, each ROI is on its
    z slice and named "z<z>-<id>-<class name>"."""
    try:
        from roifile import ImagejRoi, ROI_TYPE
    except ImportError:
        raise ValueError("--roi-zip needs roifile: pip install roifile") from None
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for z, (labels, table) in enumerate(planes):
            for i, pts in polygons(labels, table):
                lid = int(table["id"][i])
                name = f"{lid:05d}-{table.class_name(int(table['class'][i]))}"
                if len(planes) > 1:
                    name = f"z{z:03d}-{name}"
                roi = ImagejRoi.frompoints(pts, name=name, z=z if len(planes) > 1 else None)
                roi.roitype = ROI_TYPE.POLYGON
                zf.writestr(f"{name}.roi", roi.tobytes())
    return buf.getvalue()


def check_output_folder(outdir: str | Path) -> Path:
    """The output folder as a Path; a ValueError naming it when it exists as something else
    (mkdir would say only '[Errno 17] File exists')."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ValueError(f"output folder {outdir} exists and is not a folder")
    return outdir


# What each image's outputs are called: its stem plus one of these.
OUTPUT_SUFFIXES = ("_labels.tif", "_objects.csv", "_overlay.png", ".geojson")
# Extra outputs some runs add (--roi-zip); they never make an image "done" by themselves.
OPTIONAL_SUFFIXES = ("_rois.zip",)


def is_output_name(name: str) -> bool:
    """Whether a file name is one cellrt writes as an output (never taken as an input)."""
    low = name.lower()
    return any(low.endswith(s) for s in OUTPUT_SUFFIXES + OPTIONAL_SUFFIXES)


def output_paths(outdir: str | Path, stem: str) -> list[Path]:
    """The output files of the image with output stem `stem` (a relative POSIX path)."""
    return [Path(outdir) / f"{stem}{suffix}" for suffix in OUTPUT_SUFFIXES]


def outputs_done(outdir: str | Path, stem: str) -> bool:
    """Whether every output of `stem` exists (a finished image; atomic writes mean no file is
    ever half-written, but a run cut off between files leaves an unfinished set)."""
    return all(p.is_file() for p in output_paths(outdir, stem))


def _stack_csv(tables: list[ObjectTable]) -> bytes:
    """The tables of a z stack's planes as one CSV with a leading z column."""
    lines = []
    for z, table in enumerate(tables):
        rows = table.to_csv().decode().splitlines()
        if not lines:
            lines.append("z," + rows[0])
        lines += [f"{z},{row}" for row in rows[1:]]
    return ("\n".join(lines) + "\n").encode()


def write_outputs(outdir: str | Path, stem: str, image: np.ndarray, result,
                  rois: bool = False) -> list[Path]:
    """All outputs of one image (and its ROI set with `rois`); every file is encoded before any
    is written, and each is written atomically."""
    return write_stack_outputs(outdir, stem, [image], [result], rois)


def write_stack_outputs(outdir: str | Path, stem: str, images: list, results: list,
                        rois: bool = False) -> list[Path]:
    """write_outputs of a z stack's planes (each segmented in 2-D): a (Z, H, W) labels TIFF,
    one CSV with a z column, the outlines of every plane on the maximum projection, GeoJSON
    features and ROIs carrying their plane. One plane: exactly write_outputs."""
    outdir = check_output_folder(outdir)
    planes = [(r.labels, r.table) for r in results]
    if len(results) == 1:
        (labels, table), image = planes[0], images[0]
        blobs = dict(zip(OUTPUT_SUFFIXES, (
            labels_tiff_bytes(labels), table.to_csv(), overlay_png_bytes(image, labels, table),
            geojson_bytes(labels, table))))
    else:
        feats = [f for z, (lab, tab) in enumerate(planes) for f in _features(lab, tab, z)]
        blobs = dict(zip(OUTPUT_SUFFIXES, (
            labels_tiff_bytes(np.stack([lab for lab, _ in planes])),
            _stack_csv([tab for _, tab in planes]),
            stack_overlay_png_bytes(np.max(np.stack(images), axis=0), planes),
            json.dumps({"type": "FeatureCollection", "features": feats}).encode())))
    if rois:
        blobs["_rois.zip"] = stack_roi_zip_bytes(planes)
    paths = []
    for suffix, data in blobs.items():
        path = outdir / f"{stem}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        paths.append(atomic_write_bytes(path, data))
    return paths
