"""Image reading: PNG and JPEG through OpenCV, TIFF through tifffile.

Returns (H, W) for gray and (H, W, C) for colour (RGB order, alpha dropped), in the file's own
dtype (uint8/uint16/float32...). Every failure is an ImageError (a ValueError) whose message names
the file and the problem, so a batch run can report it in one line and go on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.int8, np.int16, np.int32, np.uint32, np.float32,
                    np.float64)


class ImageError(ValueError):
    """A file that cannot be used as an input image."""


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        return tifffile.imread(path)
    except Exception as exc:  # tifffile raises many types for corrupt files
        raise ImageError(f"{path}: not a readable TIFF ({type(exc).__name__}: {exc})") from None


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


def read_image(path: str | Path) -> np.ndarray:
    """Read one image; see the module docstring for what comes back and how it fails."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageError(f"{path}: unsupported file type {path.suffix!r} "
                         f"(expected one of {', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    img = _read_tiff(path) if suffix in (".tif", ".tiff") else _read_png_jpeg(path)
    return validate_image(np.asarray(img), str(path))


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
        raise ImageError(f"{name}: expected a 2-D gray or (H, W, 3) colour image, "
                         f"got shape {img.shape}")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ImageError(f"{name}: empty image of shape {img.shape}")
    if img.dtype.kind == "f" and not np.isfinite(img).all():
        raise ImageError(f"{name}: contains NaN or infinite values")
    return img
