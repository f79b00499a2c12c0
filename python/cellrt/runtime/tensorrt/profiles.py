"""Optimisation profiles: the (min, opt, max) input shapes an engine accepts (pure functions).

The engine (cellrt.engine) derives a profile from its tile plan and hands it to the backend; a
batch outside it gets an engine for a grown profile instead of an error.
"""

from __future__ import annotations

Shape = tuple[int, int, int, int]  # N, C, H, W
Profile = tuple[Shape, Shape, Shape]  # min, opt, max

# A grown profile's spatial maximum is rounded up to this many pixels: whole-image runs on images
# of slowly increasing size would otherwise rebuild the engine (minutes) for every few pixels.
GROW_STEP = 256


def _round_up(v: int, m: int) -> int:
    return -(-v // m) * m


def covers(profile: Profile, shape: Shape) -> bool:
    """Whether an input of `shape` lies inside the profile's [min, max] box."""
    lo, _, hi = profile
    return len(shape) == 4 and all(a <= s <= b for a, s, b in zip(lo, shape, hi))


def grow_profile(profile: Profile, shape: Shape) -> Profile:
    """The smallest profile (up to GROW_STEP on the spatial maximum) covering `profile` and
    `shape`; the opt shape is kept, it is still the common case."""
    lo, opt, hi = profile
    new_lo = tuple(min(a, s) for a, s in zip(lo, shape))
    side = max(hi[2], hi[3], _round_up(max(shape[2], shape[3]), GROW_STEP))
    new_hi = (max(hi[0], shape[0]), hi[1], side, side)
    return new_lo, opt, new_hi


SINGLE_IMAGE_SIDE = 1024


def single_image(channels: int, align: int) -> Profile:
    """The profile for callers that name no tile plan: one image up to SINGLE_IMAGE_SIDE pixels a
    side (rounded up to `align`); larger inputs grow it."""
    side = _round_up(SINGLE_IMAGE_SIDE, align)
    return ((1, channels, align, align), (1, channels, side, side), (1, channels, side, side))
