"""Test-time augmentation by flips: a backend whose outputs are the mean of another backend's over
the four flips of the input (none, left-right, up-down, both), each flipped back.

The boundary-distance head is not flip-invariant: a left-right flip swaps the distances to the
left and right boundary, an up-down flip those up and down, so their channels are swapped back
too. It costs 4x the network time; docs/tuning.md has what it gains on each data set.

Tiles stay equal to the whole image: tile windows start and end on multiples of the network's
down-sampling (cellrt.engine.tiling), so a flipped window's pooling grid is the flipped whole
image's.
"""

from __future__ import annotations

import numpy as np

FLIPS = ((False, False), (False, True), (True, False), (True, True))  # (up-down, left-right)
# Channel order of "dist" is (left, right, up, down).
_SWAP_LEFT_RIGHT = [1, 0, 2, 3]
_SWAP_UP_DOWN = [0, 1, 3, 2]


def _flip(a: np.ndarray, up_down: bool, left_right: bool) -> np.ndarray:
    axes = tuple(ax for ax, on in ((-2, up_down), (-1, left_right)) if on)
    return np.flip(a, axes) if axes else a


class FlipAveragedBackend:
    """Wraps a backend (anything with run(batch) -> {name: (N, ., H, W)}); same name and
    precision, so a selection or a report names the network that ran."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.precision = inner.name, inner.precision

    def run(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        total: dict[str, np.ndarray] = {}
        for up_down, left_right in FLIPS:
            out = self.inner.run(np.ascontiguousarray(_flip(batch, up_down, left_right)))
            for key, value in out.items():
                value = _flip(value, up_down, left_right)
                if key == "dist":
                    value = value[:, _SWAP_LEFT_RIGHT] if left_right else value
                    value = value[:, _SWAP_UP_DOWN] if up_down else value
                total[key] = total[key] + value if key in total else value.astype(np.float32)
        return {key: np.ascontiguousarray(value / len(FLIPS)) for key, value in total.items()}
