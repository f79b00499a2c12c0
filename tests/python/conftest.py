from pathlib import Path

import pytest

import cellrt
from cellrt.io.images import read_image

EXAMPLES = Path(cellrt.__file__).parent / "examples"


@pytest.fixture(scope="session")
def example_images():
    """The shipped example images: 256x256, 256x256, 360x360, 520x696 (real DSB nuclei)."""
    return [read_image(p) for p in sorted(EXAMPLES.glob("dsb_fluo_?.png"))]
