"""What segmenting one image returns, and the per-stage clock that times it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from cellrt.io.table import ObjectTable

STAGES = ("read", "normalise", "network", "postprocess", "stitch")


@dataclass
class SegmentResult:
    """One image's instances."""

    labels: np.ndarray  # (H, W) int32, 0 background, ids 1..N in raster order of first pixel
    table: ObjectTable  # one row per instance, ids ascending
    cut_objects: int = 0  # foreground components larger than the tile halo (kept, but clipped)
    timings: dict = field(default_factory=dict)  # stage (STAGES) -> seconds spent on this image
    scale: float = 1.0  # != 1: segmented resized by this factor; labels and table at 1x
    warnings: list = field(default_factory=list)  # ways the image does not fit the model

    @property
    def count(self) -> int:
        return len(self.table)

    @property
    def diameter(self) -> float:
        """Median object diameter (px of the image; 0.0 without objects)."""
        return self.table.median_diameter()

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.table.class_names


class StageClock:
    """Adds wall time per stage into a dict: `with clock("network"): ...`."""

    def __init__(self, timings: dict | None = None):
        self.timings = timings if timings is not None else {}

    def __call__(self, stage: str):
        return _Lap(self.timings, stage)


class _Lap:
    __slots__ = ("timings", "stage", "t0")

    def __init__(self, timings, stage):
        self.timings, self.stage = timings, stage

    def __enter__(self):
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        self.timings[self.stage] = self.timings.get(self.stage, 0.0) + time.perf_counter() - self.t0
