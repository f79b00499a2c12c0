"""The small-nuclei rule (the package config's ``upscale``): when the median area of the first
pass's instances is below ``below_median_area`` pixels, the image is segmented again at the
integer ``factor`` and that result is returned (cellrt.engine.rescale samples it back). A network
sees nuclei of about the sizes it was trained on; docs/tuning.md has the measurements behind the
rule and its tuned thresholds.

The rule reads only the first pass's table, which is the same tiled or whole, so the decision and
the second pass are too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cellrt.families.boundary.postprocess import PostprocessParams
from cellrt.io.table import ObjectTable


@dataclass(frozen=True)
class UpscaleRule:
    below_median_area: float  # pixels: median instance area under which the image is upscaled
    factor: int = 2

    def __post_init__(self):
        if not isinstance(self.factor, int) or self.factor < 2:
            raise ValueError(f"upscale: factor must be an integer >= 2, got {self.factor!r}")
        if not self.below_median_area >= 0:
            raise ValueError("upscale: below_median_area must be >= 0, "
                             f"got {self.below_median_area!r}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "UpscaleRule | None":
        """The package's rule, or None for packages without one (they never upscale)."""
        if d is None:
            return None
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"upscale: unknown parameters {sorted(unknown)}")
        return cls(**d)

    def factor_for(self, table: ObjectTable) -> int:
        """`factor` when the table's median instance area is below the threshold, else 1."""
        areas = np.asarray(table["area"])
        if len(areas) == 0 or not np.median(areas) < self.below_median_area:
            return 1
        return self.factor


def scaled_params(params: PostprocessParams, factor: float) -> PostprocessParams:
    """Post-processing for an image resized by `factor`. Enlarged (small nuclei brought to the
    training size): the instance-area limit grows by factor^2, so specks of the original stay
    specks. Shrunk (large nuclei brought to the training size): unchanged, the nuclei are then at
    the size the parameters were tuned for. The marker limit stays in both: a vote-density
    marker's size is set by the spread of the predicted centres and vote_sigma, not by the
    nucleus (docs/tuning.md)."""
    if factor <= 1:
        return params
    if float(factor).is_integer():
        return replace(params, min_size=params.min_size * int(factor) ** 2)
    return replace(params, min_size=int(round(params.min_size * factor * factor)))
