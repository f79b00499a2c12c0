"""Image reading: PNG and JPEG through OpenCV, TIFF through tifffile.

Returns (H, W) for gray and (H, W, C) for colour (RGB order, alpha dropped), in the file's own
dtype (uint8/uint16/float32...). Every failure is an ImageError (a ValueError) whose message names
the file and the problem, so a batch run can report it in one line and go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.int8, np.int16, np.int32, np.uint32, np.float32,
                    np.float64)


class ImageError(ValueError):
    """A file that cannot be used as an input image."""


@dataclass
class ImageFile:
    """A file's pixels with the axes tifffile found (e.g. "YX", "YXS", "ZYX", "TCZYX"), its
    pixel size in µm when its metadata says (OME-XML or ImageJ), and its channel names (OME)."""

    data: np.ndarray
    axes: str
    pixel_size: float | None = None
    channel_names: tuple[str, ...] = ()


def _ome_facts(xml: str) -> tuple[float | None, tuple[str, ...]]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    pixels = next((el for el in root.iter() if el.tag.endswith("}Pixels") or el.tag == "Pixels"),
                  None)
    if pixels is None:
        return None, ()
    size = pixels.get("PhysicalSizeX")
    unit = pixels.get("PhysicalSizeXUnit", "µm")
    factor = {"µm": 1.0, "um": 1.0, "nm": 1e-3, "mm": 1e3}.get(unit)
    px = float(size) * factor if size is not None and factor is not None else None
    names = tuple(ch.get("Name", "") for ch in pixels if ch.tag.endswith("Channel"))
    return px, names


def _imagej_pixel_size(tif) -> float | None:
    meta = tif.imagej_metadata or {}
    unit = str(meta.get("unit", "")).replace("\\u00B5", "µ")
    if unit not in ("micron", "µm", "um", "microns"):
        return None
    tag = tif.pages[0].tags.get("XResolution")
    if tag is None:
        return None
    num, den = tag.value
    return den / num if num else None


def _read_tiff(path: Path) -> ImageFile:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            data, axes = series.asarray(), series.axes
            px, names = None, ()
            if tif.ome_metadata:
                px, names = _ome_facts(tif.ome_metadata)
            elif tif.is_imagej:
                px = _imagej_pixel_size(tif)
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise ImageError(f"{path}: not a readable TIFF ({type(exc).__name__}: {exc})") from None
    return ImageFile(data, axes, px if px and np.isfinite(px) and px > 0 else None, names)


def _read_png_jpeg(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ImageError(f"{path}: not a readable {path.suffix[1:].upper()} image "
                         "(corrupt, truncated or empty file)")
    if img.ndim == 3:
        # OpenCV gives BGR(A); cellrt works in RGB and ignores alpha.
        img = img[..., 2::-1] if img.shape[2] >= 3 else img[..., 0]
    return img


def read_file(path: str | Path) -> ImageFile:
    """A file's pixels, axes and metadata, before any plane or channel is chosen."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageError(f"{path}: unsupported file type {path.suffix!r} "
                         f"(expected one of {', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if suffix in (".tif", ".tiff"):
        return _read_tiff(path)
    img = _read_png_jpeg(path)
    return ImageFile(img, "YX" if img.ndim == 2 else "YXS")


def read_image(path: str | Path) -> np.ndarray:
    """Read one 2-D image; see the module docstring for what comes back and how it fails. A
    stack or a multi-channel file is refused here: read_planes chooses from it."""
    f = read_file(path)
    planes = select_planes(f, name=str(path))
    if len(planes) != 1:
        raise ImageError(f"{path}: {len(planes)} frames; read them with read_planes")
    return planes[0][1]


Z_CHOICES = ("max", "mean", "all")


def select_planes(f: ImageFile, channel: int | str | None = None, z: int | str | None = None,
                  name: str = "image") -> list[tuple[str, np.ndarray]]:
    """The 2-D images to segment in a file: [(output-name suffix, validated image)].

    channel: index (or OME channel name) of the channel to segment; needed when the file has
    several channels that are not RGB. z: "max" or "mean" projection, a plane index, or "all"
    (every plane, suffixes "_z000", ...); needed when the file has several z planes. Time
    points are segmented frame by frame (suffixes "_t000", ...). Any other axis of more than
    one element is refused: the message names the shape and the options.
    """
    data, axes = np.asarray(f.data), f.axes.upper()
    if data.size == 0:
        raise ImageError(f"{name}: empty image of shape {data.shape}")
    if len(axes) != data.ndim:  # tifffile's axes always match; arrays from elsewhere may not
        axes = "Q" * (data.ndim - 2) + "YX" if data.ndim >= 2 else axes
    shape = dict(zip(axes, data.shape))
    hint = ("choose with --channel N and --z max|mean|N|all (Python: channel=, z=)")
    unknown = [ax for ax in axes if ax not in "TZCYXS" and shape[ax] > 1]
    if len(unknown) == 1 and (z is None) != (channel is None):
        # A plain stack without metadata ("QYX"): the option given says what its planes are.
        axes = axes.replace(unknown[0], "Z" if z is not None else "C")
        shape = dict(zip(axes, data.shape))
    # Move the axes into the order T, Z, C, Y, X, S (missing ones added with length 1).
    for ax in axes:
        if ax not in "TZCYXS" and shape[ax] > 1:
            raise ImageError(f"{name}: axes {f.axes} of shape {data.shape}: cannot tell what "
                             f"the {shape[ax]} {ax!r} planes are; {hint}")
    keep = [i for i, ax in enumerate(axes) if ax in "TZCYXS"]
    data = data.transpose(keep + [i for i in range(len(axes)) if i not in keep])
    data = data.reshape(data.shape[:len(keep)])
    axes = "".join(axes[i] for i in keep)
    for ax in "TZCS":
        if ax not in axes:
            data, axes = data[..., None] if ax == "S" else data[None], \
                (axes + "S" if ax == "S" else ax + axes)
    order = [axes.index(ax) for ax in "TZCYXS"]
    data = data.transpose(order)  # (T, Z, C, Y, X, S)
    t, nz, nc = data.shape[:3]
    data = _pick_channel(data, f, channel, name, hint)  # (T, Z, Y, X, S)
    if z is None and nz > 1:
        raise ImageError(f"{name}: {nz} z planes (shape {f.data.shape}, axes {f.axes}); {hint}")
    zs = _pick_z(data, z, name)  # [(suffix, (T, Y, X, S))]
    planes = []
    for ti in range(t):
        for zsuffix, stack in zs:
            suffix = (f"_t{ti:03d}" if t > 1 else "") + zsuffix
            img = stack[ti]
            img = img[..., 0] if img.shape[-1] == 1 else img
            planes.append((suffix, validate_image(img, name + suffix)))
    return planes


def _pick_channel(data, f: ImageFile, channel, name: str, hint: str) -> np.ndarray:
    nc, ns = data.shape[2], data.shape[5]
    if channel is not None:
        if isinstance(channel, str) and not channel.lstrip("-").isdigit():
            if channel not in f.channel_names:
                raise ImageError(f"{name}: no channel named {channel!r} (channels: "
                                 f"{', '.join(f.channel_names) or 'unnamed'})")
            channel = f.channel_names.index(channel)
        channel = int(channel)
        n = nc if nc > 1 else ns
        if not 0 <= channel < n:
            raise ImageError(f"{name}: channel {channel} out of range: the image has {n} "
                             f"channel{'s' if n != 1 else ''} (0..{n - 1})")
        if nc > 1:
            return data[:, :, channel]
        return data[:, :, 0, ..., channel:channel + 1]
    if nc > 1:
        raise ImageError(f"{name}: {nc} channels (shape {f.data.shape}, axes {f.axes}); {hint}")
    return data[:, :, 0]


def _pick_z(data, z, name: str) -> list:
    nz = data.shape[1]
    if z is None or nz == 1:
        return [("", data[:, 0])]
    if z == "max":
        return [("", data.max(axis=1))]
    if z == "mean":
        return [("", data.mean(axis=1, dtype=np.float64).astype(np.float32))]
    if z == "all":
        return [(f"_z{i:03d}", data[:, i]) for i in range(nz)]
    try:
        index = int(z)
    except (TypeError, ValueError):
        raise ImageError(f"{name}: z must be max, mean, all or a plane index, got {z!r}") from None
    if not 0 <= index < nz:
        raise ImageError(f"{name}: z plane {index} out of range: the image has {nz} planes "
                         f"(0..{nz - 1})")
    return [("", data[:, index])]


def validate_image(img: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an in-memory image: 2-D gray or (H, W, C<=4) colour, supported dtype, not empty,
    finite. Squeezes singleton leading axes (TIFF pages of one plane). Returns the array."""
    while img.ndim > 2 and img.shape[0] == 1:
        img = img[0]
    if img.dtype == bool:
        img = img.astype(np.uint8)
    if img.dtype.type not in SUPPORTED_DTYPES:
        raise ImageError(f"{name}: unsupported dtype {img.dtype} (expected one of "
                         f"{', '.join(np.dtype(t).name for t in SUPPORTED_DTYPES)})")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (1, 3))):
        raise ImageError(f"{name}: expected a 2-D gray or (H, W, 3) colour image, got shape "
                         f"{img.shape}: a stack or several channels; choose one plane first "
                         "(cellrt segment: --channel N, --z max|mean|N|all)")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageError(f"{name}: empty image of shape {img.shape}")
    if img.dtype.kind == "f" and not np.isfinite(img).all():
        raise ImageError(f"{name}: contains NaN or infinite values")
    return img
