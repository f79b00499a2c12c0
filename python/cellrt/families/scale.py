"""The object scale a model was trained at, and how an image's scale is found (the package
config's ``scale``).

A network sees objects well only near the sizes it was trained on: a nucleus three times larger
than any in training is cut into fragments that each look like a normal nucleus, so a single
pass cannot tell a 3x image from a 1x one. The engine therefore probes the image at coarse
scales (``probes``, e.g. 1/8, 1/4, 1/2): when two neighbouring probes find objects of one and
the same size in image pixels (within the ratio ``agree``), objects scale with the image there
and the estimate is trusted. Fragments do not behave so (they keep the network's idea of a
nucleus size at every scale) and neither does noise (a few spurious blobs at a tiny scale).
Probes whose median object is below ``min_diameter`` of their own pixels are too small to judge.
docs/scale.md has the measurements behind the defaults.

The rule reads only whole-image results of each probe, which are the same tiled or whole, so
the decision and the final labels are too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ScaleRule:
    diameter: float  # median annotated object diameter (px) of the training images
    # The median diameter the model's own objects measure at the training scale (val images at
    # their own scale). A model's instances need not be the annotations' size (they may run
    # larger), so the probes' estimates are compared with this, like with like. None: diameter.
    measured: float | None = None
    probes: tuple[float, ...] = (0.125, 0.25, 0.5)  # coarse probe scales, ascending, < 1
    min_diameter: float = 9.0  # probe px: smaller medians are not judged
    agree: float = 1.45  # two neighbouring probes agree within this ratio of estimates
    shrink_below: float = 0.75  # shrink only when diameter / estimate is below this
    pixel_size: float | None = None  # µm per px of the training images, where known

    def __post_init__(self):
        if not self.diameter > 0:
            raise ValueError(f"scale: diameter must be > 0, got {self.diameter!r}")
        probes = tuple(self.probes)
        if any(not 0 < p < 1 for p in probes) or list(probes) != sorted(set(probes)):
            raise ValueError(f"scale: probes must be ascending scales in (0, 1), got {probes}")
        object.__setattr__(self, "probes", probes)
        if not self.agree > 1 or not self.min_diameter >= 0 or not 0 < self.shrink_below <= 1:
            raise ValueError("scale: need agree > 1, min_diameter >= 0 and 0 < shrink_below <= 1, "
                             f"got {self.agree!r}, {self.min_diameter!r}, {self.shrink_below!r}")
        if self.measured is not None and not self.measured > 0:
            raise ValueError(f"scale: measured must be > 0 or null, got {self.measured!r}")
        if self.pixel_size is not None and not self.pixel_size > 0:
            raise ValueError(f"scale: pixel_size must be > 0 or null, got {self.pixel_size!r}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "ScaleRule | None":
        if d is None:
            return None
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"scale: unknown parameters {sorted(unknown)}")
        if "diameter" not in d:
            raise ValueError("scale: 'diameter' is required")
        return cls(**d)

    def for_diameter(self, diameter: float) -> float:
        """The scale that brings nuclei of `diameter` px (as a person measures them) to the
        training images' annotated diameter."""
        if not (isinstance(diameter, (int, float)) and math.isfinite(diameter) and diameter > 0):
            raise ValueError(f"diameter must be a positive number of pixels, got {diameter!r}")
        return self.diameter / float(diameter)

    def for_pixel_size(self, pixel_size: float) -> float:
        """The scale that brings an image of `pixel_size` µm/px to the training pixel size."""
        if not (isinstance(pixel_size, (int, float)) and math.isfinite(pixel_size)
                and pixel_size > 0):
            raise ValueError(f"pixel size must be a positive number of µm, got {pixel_size!r}")
        if self.pixel_size is None:
            raise ValueError("this model's training images have no known pixel size (they "
                             "come from many microscopes); give the nucleus diameter in pixels "
                             "instead")
        return float(pixel_size) / self.pixel_size

    def estimate(self, found: list[tuple[float, float]]) -> float | None:
        """Median object diameter in image px from probe results [(scale, median diameter in
        that scale's px)], coarse to fine: the finer estimate of the first pair of neighbouring
        probes that agree, or None when no pair does."""
        for (pa, da), (pb, db) in zip(found, found[1:]):
            if da >= self.min_diameter and db >= self.min_diameter:
                ea, eb = da / pa, db / pb
                if abs(math.log(ea / eb)) < math.log(self.agree):
                    return eb
        return None

    def shrink(self, estimate: float | None) -> float:
        """The scale to segment at for an estimated diameter (of the model's objects): < 1 when
        the objects are large enough to shrink, else 1."""
        if estimate is None:
            return 1.0
        scale = (self.measured or self.diameter) / estimate
        return scale if scale < self.shrink_below else 1.0
