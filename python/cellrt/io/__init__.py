"""Reading microscopy images and writing results, with one clear error per bad file."""

from cellrt.io.images import ImageError, read_image

__all__ = ["ImageError", "read_image"]
