"""Which files a batch run segments and where each one's outputs go.

Rules (docs/cli.md has them for users):
  * A file named directly is an input whatever its name. A folder contributes its images
    (PNG, JPEG, TIFF; its subfolders' too with `recursive`), except files named as cellrt
    outputs (`*_labels.tif`, `*_overlay.png`, ...) and anything in an output folder inside it,
    so a re-run whose output folder is (or is inside) an input never segments its own results.
  * Outputs keep each image's path relative to the folder it was found in. When the run has more
    than one input argument, each folder's outputs go into a subfolder named after the folder
    (`plate1/A01_labels.tif`, `plate2/A01_labels.tif`), so a plate layout never collides.
  * Two inputs that would still get the same outputs (`same.png` and `same.tif`, or two folders
    of one name) refuse the whole run before anything is written: a ValueError naming both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cellrt.io.images import IMAGE_SUFFIXES
from cellrt.io.outputs import is_output_name


@dataclass(frozen=True)
class BatchItem:
    """One input image and its output stem, a relative POSIX path under the output folder."""

    path: Path
    stem: str


def _folder_images(folder: Path, recursive: bool, outdir: Path | None) -> list[Path]:
    pattern = "**/*" if recursive else "*"
    # An output folder inside the input folder is not searched (it holds results, perhaps
    # renamed); when it is the input folder itself, output names alone tell results apart.
    skip = outdir if outdir is not None and folder.resolve() in outdir.parents else None
    found = []
    for f in sorted(folder.glob(pattern)):
        if f.suffix.lower() not in IMAGE_SUFFIXES or not f.is_file() or is_output_name(f.name):
            continue
        if skip is not None and skip in f.resolve().parents:
            continue
        found.append(f)
    return found


def plan_batch(inputs: list[str | Path], outdir: str | Path | None = None,
               recursive: bool = False) -> tuple[list[BatchItem], list[str]]:
    """The images of `inputs` with their output stems, and one message per input that is
    missing or a folder without images. Raises ValueError when two inputs would share outputs."""
    out_resolved = Path(outdir).resolve() if outdir is not None else None
    several = len(inputs) > 1
    items: list[BatchItem] = []
    errors: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = _folder_images(p, recursive, out_resolved)
            if not found:
                what = "or its subfolders have" if recursive else "has"
                errors.append(f"{p}: folder {what} no PNG, JPEG or TIFF images "
                              "(cellrt outputs are not inputs)")
            prefix = PurePosixPath(p.resolve().name) if several else PurePosixPath()
            for f in found:
                rel = PurePosixPath(f.relative_to(p).as_posix())
                items.append(BatchItem(f, str(prefix / rel.with_suffix(""))))
        elif p.exists():
            items.append(BatchItem(p, p.stem))
        else:
            errors.append(f"{p}: no such file or folder")
    return _unique(items), errors


def _unique(items: list[BatchItem]) -> list[BatchItem]:
    """`items` without repeats of one file; a ValueError for two files with one output stem."""
    # Case-insensitive: on macOS and Windows A01 and a01 are one file.
    seen: dict[str, BatchItem] = {}
    unique = []
    for it in items:
        other = seen.get(it.stem.lower())
        if other is None:
            seen[it.stem.lower()] = it
            unique.append(it)
        elif other.path.resolve() != it.path.resolve():
            raise ValueError(f"inputs {other.path} and {it.path} would both write outputs named "
                             f"{it.stem}_*; rename one, or give their folders as separate "
                             "inputs (each gets its own output subfolder)")
    return unique
