"""Readable marker-controlled watershed (priority flood) and the arrival states it floods by.

Both functions work on 2-D images in (row, col) order. They are the documented semantics of
:func:`cellrt.ops.watershed` and the test oracle; they are slow (pure Python heapq) and only meant
for small images.

Semantics of the flood (those of ``skimage.segmentation.watershed`` without compactness or
watershed lines):

* The queue holds pixels ordered by ``(priority, age)``. ``age`` is the push count, so equal
  priorities leave the queue first-in first-out.
* Every marker pixel inside the mask is pushed first, in raster order (this fixes the order of
  equal-valued markers; scikit-image gives all markers age 0 and leaves their order to its heap).
* Popping pixel ``q`` (priority ``P``) labels every unlabelled in-mask neighbour ``n`` with
  ``label(q)`` at once and pushes ``n`` with priority ``max(image[n], P)``: a pixel below the
  water level waits at that level, behind older pixels there (scikit-image 0.26). Neighbours
  are visited in scikit-image's order: up, left, right, down, then (connectivity 2) up-left,
  up-right, down-left, down-right.
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
        heapq.heappush(heap, (image[r, c], age, r, c))  # a marker's priority is its value
        age += 1
    while heap:
        level, _, r, c = heapq.heappop(heap)
        for dr, dc in NEIGHBOURS[connectivity]:
            rr, cc = r + dr, c + dc
            if 0 <= rr < h and 0 <= cc < w and mask[rr, cc] and labels[rr, cc] == 0:
                labels[rr, cc] = labels[r, c]  # at push: no later path can arrive lower
                heapq.heappush(heap, (max(image[rr, cc], level), age, rr, cc))
                age += 1
    return labels.astype(np.int32)


def arrival_states(image, markers, mask=None, connectivity=1):
    """When and how a flood from the markers reaches every pixel: ``(levels, steps)``.

    ``levels`` (float64, ``inf`` where no marker reaches) is the minimax arrival level ``D``: the
    lowest possible highest value on an in-mask path from a marker to the pixel, both ends
    included (a marker's own level is its value). ``steps`` (int64, -1 where unreached) is ``h``,
    the number of steps since such a path last rose to ``D`` (0 for markers and for pixels that
    raise the level themselves), minimised among the paths that achieve ``D``.

    A priority flood of the kind ``watershed_ref`` runs pops pixels in increasing ``(D, h)``
    order and gives each pixel the label of its first-popped neighbour, so every pixel's label is
    that of one of its in-mask neighbours of smallest ``(D, h)``. The tests hold every labelling
    (CPU, scikit-image, GPU emulation) to that property; where several such neighbours carry
    different labels, equal values make several answers valid.
    """
    image, labels, mask = _prepare(image, markers, mask)
    h, w = image.shape
    levels = np.full(image.shape, np.inf)
    steps = np.full(image.shape, -1, dtype=np.int64)
    heap = []
    for r, c in zip(*np.nonzero(labels)):
        levels[r, c] = image[r, c]
        steps[r, c] = 0
        heapq.heappush(heap, (image[r, c], 0, r, c))
    done = np.zeros(image.shape, bool)
    while heap:  # Dijkstra: extending a path never lowers (D, h), so the first pop is final
        d, k, r, c = heapq.heappop(heap)
        if done[r, c]:
            continue
        done[r, c] = True
        for dr, dc in NEIGHBOURS[connectivity]:
            rr, cc = r + dr, c + dc
            if not (0 <= rr < h and 0 <= cc < w) or not mask[rr, cc] or labels[rr, cc] != 0:
                continue
            v = image[rr, cc]
            nd, nk = (v, 0) if v > d else (d, k + 1)
            if (nd, nk) < (levels[rr, cc], steps[rr, cc] if steps[rr, cc] >= 0 else np.inf):
                levels[rr, cc], steps[rr, cc] = nd, nk
                heapq.heappush(heap, (nd, nk, rr, cc))
    return levels, steps
