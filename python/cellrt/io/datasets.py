"""Annotated data sets in the layout `cellrt train` and `cellrt eval` read:

    images/<id>.png|.jpg|.jpeg|.tif|.tiff   the image
    labels/<id>.tif                          uint16 instance labels, 0 background
    classes/<id>.tif                         optional per-pixel class id, 0 background
    split.json                               {"train": [ids], "val": [ids], "test": [ids]}
    meta.csv                                 optional, columns id and modality
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from cellrt.io.images import IMAGE_SUFFIXES


def read_split(root: str | Path, splits: list[str]) -> list[str]:
    """The ids of `splits`, in split.json order (a ValueError naming a missing split)."""
    root = Path(root)
    path = root / "split.json"
    if not path.is_file():
        raise ValueError(f"dataset {root}: no split.json")
    table = json.loads(path.read_text())
    ids: list[str] = []
    for s in splits:
        if s not in table or not isinstance(table[s], list):
            raise ValueError(f"dataset {root}: split {s!r} not in split.json "
                             f"(has {sorted(k for k, v in table.items() if isinstance(v, list))})")
        ids += table[s]
    return ids


def image_path(root: str | Path, sid: str) -> Path:
    """The image file of id `sid` (any supported suffix)."""
    root = Path(root)
    for suffix in IMAGE_SUFFIXES:
        p = root / "images" / f"{sid}{suffix}"
        if p.is_file():
            return p
    raise ValueError(f"dataset {root}: no image file for id {sid!r} in images/")


def modalities(root: str | Path) -> dict[str, str]:
    """{id: modality} from meta.csv; {} when the data set has none."""
    meta = Path(root) / "meta.csv"
    if not meta.is_file():
        return {}
    with open(meta, newline="") as f:
        return {row["id"]: row["modality"] for row in csv.DictReader(f) if "modality" in row}
