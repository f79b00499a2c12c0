"""Tile plans whose tiled result equals the whole-image result.

Three nested windows per tile (all in image pixel coordinates, half-open):
  core    the pixels this tile owns; cores partition the image.
  region  core + `object_halo`: the window post-processed by this tile. An instance is kept by
          the tile whose core contains the top-left corner of its foreground component's bounding
          box, provided the component does not touch the region's edge (inside the image) — so it
          was seen whole and, because the watershed of one foreground component depends only on
          that component, it is exactly what whole-image post-processing produces.
  net     region + `context`: the network input. With context >= the network's receptive-field
          radius, and every window starting at a multiple of the network's down-sampling factor,
          the dense maps inside the region equal those of a whole-image run.
A whole-image run is the plan with one tile, so both go through the same code.

Tiles smaller than MIN_TILE are refused by the engine: with a halo and context of about 100
pixels each side, a 64-pixel core already feeds the network ~25 times its own pixels.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Iterator

from cellrt.runtime.package import PackageConfig
from cellrt.runtime.tensorrt.profiles import Profile

Window = tuple[int, int, int, int]  # y0, x0, y1, x1


MIN_TILE = 64  # smallest core side (px) the engine accepts (0: whole image)


@dataclass(frozen=True)
class Tile:
    index: int
    core: Window
    region: Window
    net: Window


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


@dataclass(frozen=True)
class TilePlan:
    height: int
    width: int
    tile: int  # core side (pixels); 0 or >= the image side means one tile
    object_halo: int
    context: int
    align: int = 1

    def __post_init__(self):
        for name in ("height", "width"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TilePlan: {name} must be > 0, got {getattr(self, name)}")
        for name in ("tile", "object_halo", "context"):
            v = getattr(self, name)
            if v < 0 or v % self.align:
                raise ValueError(f"TilePlan: {name} must be a non-negative multiple of "
                                 f"{self.align} (the network's down-sampling), got {v}")

    @classmethod
    def create(cls, shape: tuple[int, int], tile: int | None, object_halo: int, context: int,
               align: int) -> "TilePlan":
        """Round tile/halo/context up to multiples of `align`; tile None or 0 = whole image."""
        h, w = shape
        t = 0 if not tile else _round_up(tile, align)
        if t >= max(h, w):
            t = 0
        return cls(h, w, t, _round_up(object_halo, align), _round_up(context, align), align)

    def _starts(self, n: int) -> list[int]:
        return [0] if self.tile == 0 else list(range(0, n, self.tile))

    def __iter__(self) -> Iterator[Tile]:
        h, w = self.height, self.width
        i = 0
        for y in self._starts(h):
            for x in self._starts(w):
                y1 = h if self.tile == 0 else min(h, y + self.tile)
                x1 = w if self.tile == 0 else min(w, x + self.tile)
                core = (y, x, y1, x1)
                region = (max(0, y - self.object_halo), max(0, x - self.object_halo),
                          min(h, y1 + self.object_halo), min(w, x1 + self.object_halo))
                net = (max(0, region[0] - self.context), max(0, region[1] - self.context),
                       min(h, region[2] + self.context), min(w, region[3] + self.context))
                yield Tile(i, core, region, net)
                i += 1

    def __len__(self) -> int:
        return len(self._starts(self.height)) * len(self._starts(self.width))

    def net_shape(self, tile: Tile) -> tuple[int, int]:
        """(H, W) of the network input for `tile`: its net window padded up to `align`."""
        y0, x0, y1, x1 = tile.net
        return _round_up(y1 - y0, self.align), _round_up(x1 - x0, self.align)

    def net_shapes(self) -> set[tuple[int, int]]:
        """Every distinct network input shape of this plan (what an engine profile must cover)."""
        return {self.net_shape(t) for t in self}

    def max_net_side(self) -> int:
        """The largest network input side any plan with this tile size can produce: a full core
        plus halo and context on both sides (the whole image when tile is 0)."""
        if self.tile == 0:
            return max(_round_up(self.height, self.align), _round_up(self.width, self.align))
        return self.tile + 2 * (self.object_halo + self.context)


def _check_int(func: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{func}: {name} must be an int, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError(f"{func}: {name} must be an int, got {type(value).__name__}") from None
    if v < minimum:
        raise ValueError(f"{func}: {name} must be >= {minimum}, got {v}")
    return v


def input_profile(config: PackageConfig, tile_size: int, batch: int,
                   image_shape: tuple[int, int] | None = None) -> Profile:
    """(min, opt, max) network input shapes (N, C, H, W) covering a tile plan: what a backend
    that compiles for shapes (TensorRT) is built for.

    min = (1, C, align, align): the last, short batch and the smallest edge tile.
    opt = (batch, C, S, S), S the net side of a full tile (core + halo + context on both sides):
          most tiles of a large image have it, so that is the shape TensorRT tunes for. With
          `image_shape` known, the largest net height and width that image's plan produces.
    max = (batch, C, S_max, S_max), S_max = TilePlan.max_net_side(): no plan with this tile size
          produces a larger input. Square so that a transposed image fits the same engine.
    tile_size 0 means one tile per image, whose size is then needed: `image_shape` (H, W).
    """
    func = "input_profile"
    tile_size = _check_int(func, "tile_size", tile_size, 0)
    batch = _check_int(func, "batch", batch, 1)
    channels, align = config.in_channels, config.align
    if image_shape is None:
        if tile_size == 0:
            raise ValueError(f"{func}: tile_size 0 (whole image) needs image_shape (H, W), "
                             "got None")
        # max_net_side of a tiled plan does not depend on the image; any image larger than one
        # (rounded) tile gives a tiled plan.
        side = _round_up(tile_size, align) + 1
        plan = TilePlan.create((side, side), tile_size, config.object_halo, config.context,
                               align)
        s_max = plan.max_net_side()
        opt_hw = (s_max, s_max)
    else:
        if len(image_shape) != 2:
            raise ValueError(f"{func}: image_shape must be (H, W), got {tuple(image_shape)}")
        plan = TilePlan.create(tuple(int(v) for v in image_shape), tile_size,
                               config.object_halo, config.context, align)
        s_max = plan.max_net_side()
        shapes = plan.net_shapes()
        opt_hw = (max(h for h, _ in shapes), max(w for _, w in shapes))
    return ((1, channels, align, align), (batch, channels, *opt_hw),
            (batch, channels, s_max, s_max))
