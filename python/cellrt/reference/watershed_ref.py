"""Readable marker-controlled watershed (priority flood) and its minimax arrival levels.

Both functions work on 2-D images in (row, col) order. They are the documented semantics of
:func:`cellrt.ops.watershed` and the test oracle; they are slow (pure Python heapq) and only meant
for small images.

Semantics of the flood (those of ``skimage.segmentation.watershed`` without compactness or
watershed lines):

* The queue holds pixels ordered by ``(image value, age)``. ``age`` is the push count, so equal
  values leave the queue first-in first-out.
* Every marker pixel inside the mask is pushed first, in raster order (this fixes the order of
  equal-valued markers; scikit-image gives all markers age 0 and leaves their order to its heap).
* Popping pixel ``q`` labels every unlabelled in-mask neighbour ``n`` with ``label(q)`` at once and
  pushes ``n`` with priority ``image[n]`` (its own value, not the water level). Neighbours are
  visited in scikit-image's order: up, left, right, down, then (connectivity 2) up-left, up-right,
  down-left, down-right.
* Pixels outside the mask, and in-mask pixels that no marker reaches, stay 0.
"""

from __future__ import annotations

import heapq

import numpy as np

# (drow, dcol) in scikit-image's neighbour order (offsets sorted by distance, then raveled index).
NEIGHBOURS = {
    1: ((-1, 0), (0, -1), (0, 1), (1, 0)),
    2: ((-1, 0), (0, -1), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)),
}


def _prepare(image, markers, mask):
    image = np.asarray(image, dtype=np.float64)
    markers = np.asarray(markers).astype(np.int64)
    mask = np.ones(image.shape, bool) if mask is None else np.asarray(mask, bool)
    return image, np.where(mask, markers, 0), mask


def watershed_ref(image, markers, mask=None, connectivity=1):
    """Priority-flood watershed: int32 labels of ``image``'s shape (see the module docstring)."""
    image, labels, mask = _prepare(image, markers, mask)
    h, w = image.shape
    heap = []
    age = 0
    for r, c in zip(*np.nonzero(labels)):  # np.nonzero is raster order
        heapq.heappush(heap, (image[r, c], age, r, c))
        age += 1
    while heap:
        level, _, r, c = heapq.heappop(heap)
        for dr, dc in NEIGHBOURS[connectivity]:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and labels[rr, cc] == 0:
                labels[rr, cc] = labels[r, c]  # label at push: no later path can arrive lower
                heapq.heappush(heap, (max(image[rr, cc], level), age, rr, cc))
                age += 1
    return labels.astype(np.int32)


def arrival_levels(image, markers, mask=None, connectivity=1):
    """Minimax arrival level of every pixel: float64 array, ``inf`` where no marker reaches.

    ``D(m) = image[m]`` for a marker pixel ``m``; for any other in-mask pixel ``x``,
    ``D(x) = max(image[x], min over in-mask neighbours n of D(n))``, i.e. the lowest possible
    highest value on an in-mask path from some marker to ``x`` (both ends included). Every
    priority flood that pushes pixels with their own value
    pops them in non-decreasing ``D`` and gives each pixel the label of a neighbour with minimal
    ``D``; the tests check both labellings against that property.
    """
    image, labels, mask = _prepare(image, markers, mask)
    h, w = image.shape
    level = np.full(image.shape, np.inf)
    heap = []
    for r, c in zip(*np.nonzero(labels)):
        level[r, c] = image[r, c]
        heapq.heappush(heap, (image[r, c], r, c))
    done = np.zeros(image.shape, bool)
    while heap:
        d, r, c = heapq.heappop(heap)
        if done[r, c]:
            continue
        done[r, c] = True
        for dr, dc in NEIGHBOURS[connectivity]:
            rr, cc = r + dr, c + dc
            if not (0 <= rr < h and 0 <= cc < w) or not mask[rr, cc] or labels[rr, cc] != 0:
                continue
            nd = max(d, image[rr, cc])
            if nd < level[rr, cc]:
                level[rr, cc] = nd
                heapq.heappush(heap, (nd, rr, cc))
    return level
