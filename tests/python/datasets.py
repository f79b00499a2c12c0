"""Data sets in the layout of cellrt.io.datasets, built from the committed examples, and shipped
packages with a chosen val score, for training and tuning tests."""

import json
import shutil
from pathlib import Path

import cellrt

EXAMPLES = Path(cellrt.__file__).parent / "examples"


def example_dataset(root: Path, split: dict[str, list[str]], classes: int = 0) -> Path:
    """images/eI.png + labels/eI.tif for examples 0..2, and split.json mapping split -> ids.
    classes > 0 adds classes/eI.tif: instance n gets class 1 + n % classes (a made-up
    typing, for code paths that need one)."""
    import numpy as np
    import tifffile

    d = root / "data"
    (d / "images").mkdir(parents=True)
    (d / "labels").mkdir()
    for i in range(3):
        shutil.copy(EXAMPLES / f"dsb_fluo_{i}.png", d / "images" / f"e{i}.png")
        shutil.copy(EXAMPLES / f"dsb_fluo_{i}_labels.tif", d / "labels" / f"e{i}.tif")
        if classes:
            (d / "classes").mkdir(exist_ok=True)
            lab = tifffile.imread(d / "labels" / f"e{i}.tif").astype(np.int64)
            tifffile.imwrite(d / "classes" / f"e{i}.tif",
                             np.where(lab > 0, 1 + lab % classes, 0).astype(np.uint8))
    (d / "split.json").write_text(json.dumps(split))
    return d


def package_with_score(path: Path, score: float, model: str = "nuclei-fluo") -> Path:
    """A copy of a shipped package whose card claims val tuning score `score`."""
    from cellrt.runtime.package import ModelPackage, write_package

    pkg = ModelPackage.load(model)
    config = pkg.config.to_dict()
    config.pop("format_version", None)
    config["card"]["tuning"]["score"] = score
    return write_package(path, config, pkg.onnx_bytes, pkg.weights)
