"""The model-family interface: what differs between model families, declared once.

A family is bound to one package's config (`Family(config)`, which validates the family's part
of it: its post-processing parameters and rules) and says
  * which graphs the package holds and their input/output names (`graphs`);
  * how an image becomes network input (`prepare_input`);
  * its tile geometry: down-sampling, context and object halo (`geometry`);
  * how the network outputs of one tile's region become instances (`decode`), and which pixels
    group instances into the indivisible units of tile ownership (`Decoded.support`): the engine
    keeps a unit in the one tile whose core holds the top-left corner of its bounding box,
    provided the unit does not touch the region's edge inside the image;
  * the object scale it was trained at and how an image's scale is probed (`scale_rule`,
    cellrt.families.scale), and whether an image gets a second pass at another scale
    (`second_pass`, `at_scale`).
The engine (cellrt.engine) plans tiles, batches them, runs the backend and stitches; it knows no
family by name (cellrt.families.bind picks one by the config's "family").
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from cellrt.families.scale import ScaleRule
from cellrt.io.table import ObjectTable
from cellrt.runtime.package import PackageConfig, PackageError


@dataclass(frozen=True)
class GraphSpec:
    """One network graph of a package."""

    member: str  # the package member holding it ("model.onnx")
    input: str  # its one input: (N, C, H, W) float32, H and W multiples of `align`
    outputs: tuple[str, ...]  # (N, K, H, W) float32 dense maps, in order


@dataclass(frozen=True)
class TileGeometry:
    """Pixels a family's tiles need (see cellrt.engine.tiling for the three windows)."""

    align: int  # the network's down-sampling: windows start on multiples of it
    context: int  # network input beyond the region: >= the receptive-field radius
    object_halo: int  # post-processed region beyond the core: >= the largest object
    tile: int  # default core side (0: whole image)


@dataclass
class Decoded:
    """One tile region's instances, in region coordinates."""

    labels: np.ndarray  # (h, w) int32, 0 background, ids 1..N
    table: ObjectTable  # one row per id, ids ascending
    support: np.ndarray  # (h, w) bool: the connected components of it are the ownership units
    connectivity: int  # 1: 4-connected, 2: 8-connected (for `support`)


class Family(ABC):
    """A model family bound to one package config (validated here, once)."""

    names: tuple[str, ...] = ()  # values of config.family this class decodes

    def __init__(self, config: PackageConfig):
        self.config = config
        try:
            self.scale_rule: ScaleRule | None = ScaleRule.from_dict(config.scale)
        except (TypeError, ValueError) as exc:
            raise PackageError(f"model package {config.name}: {exc}") from None

    @abstractmethod
    def graphs(self) -> tuple[GraphSpec, ...]:
        """The graphs of the package, in the order they run."""

    def geometry(self) -> TileGeometry:
        c = self.config
        return TileGeometry(c.align, c.context, c.object_halo, c.tile)

    @abstractmethod
    def prepare_input(self, image: np.ndarray) -> np.ndarray:
        """A validated (H, W) or (H, W, C) image -> (H, W, in_channels) float32 network input,
        scaled with statistics of the whole image (never per tile)."""

    @abstractmethod
    def decode(self, maps: dict[str, np.ndarray], intensity: np.ndarray | None) -> Decoded:
        """Network outputs of one region ({name: (K, h, w)}) -> its instances. `intensity`:
        (h, w, C) original pixels of the region, measured per instance."""

    def second_pass(self, table: ObjectTable) -> int:
        """The scale factor at which an image whose first pass gave `table` is segmented again
        (1: no second pass)."""
        return 1

    def at_scale(self, factor: float) -> "Family":
        """This family for an image resized by `factor` (e.g. size limits scaled)."""
        return self
