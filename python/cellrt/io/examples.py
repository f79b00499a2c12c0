"""The annotated example images shipped inside the package (CC0; examples/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_path(name: str) -> Path:
    """The shipped example image `name` (e.g. "dsb_fluo_1.png")."""
    return EXAMPLES / name


def example_images() -> list[tuple[np.ndarray, np.ndarray]]:
    """Every shipped (image, instance annotation) pair, in file-name order."""
    import tifffile

    from cellrt.io.images import read_image

    pairs = []
    for path in sorted(EXAMPLES.glob("*.png")):
        labels = path.with_name(path.stem + "_labels.tif")
        if labels.is_file():
            pairs.append((read_image(path), tifffile.imread(labels)))
    return pairs
