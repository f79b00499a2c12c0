"""Choosing pairs from the sparse overlap graph: one-to-one matchings and best partners.

Edges are ``(rows[e], cols[e])`` between true instances (rows) and predicted instances (cols),
each listed once. Results are boolean masks or indices over the edge list.
"""

from __future__ import annotations

import numpy as np


def _all_degrees_at_most_one(rows: np.ndarray, cols: np.ndarray) -> bool:
    return bool(np.bincount(rows).max(initial=0) <= 1 and np.bincount(cols).max(initial=0) <= 1)


def max_weight_matching(rows: np.ndarray, cols: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Edges of a one-to-one matching of maximum total ``weight`` (all weights > 0).

    Usually no instance has two candidate partners (IoU > 0.5 pairs never do) and every edge is
    kept without a solver. Otherwise the problem is solved as a sparse assignment: in dense
    tissue, touching nuclei chain the overlap graph into one component spanning the image, and
    a dense n_true x n_pred Hungarian table would need n^2 memory. Among equally good
    matchings, the solver decides (deterministically).
    """
    chosen = np.zeros(rows.size, dtype=bool)
    if rows.size == 0:
        return chosen
    if _all_degrees_at_most_one(rows, cols):
        chosen[:] = True
        return chosen

    # scipy is needed only for graphs with conflicts; `import cellrt.metrics` stays numpy-only.
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    # Only instances with an edge take part: local indices r in [0, R), c in [0, K).
    _, r = np.unique(rows, return_inverse=True)
    _, c = np.unique(cols, return_inverse=True)
    n_r, n_c = int(r.max()) + 1, int(c.max()) + 1
    # The solver wants a *full* matching; a partial one is made full with private stand-ins:
    # row r may take dummy column n_c + r, column c may take dummy row n_r + c, and for each
    # edge (r, c) dummy row n_r + c may take dummy column n_c + r, so that when r and c pair
    # up their stand-ins pair up too. Every full matching has n_r + n_c edges, so adding one
    # constant to all costs keeps the optimum and keeps every cost > 0 (the solver treats
    # zero entries as missing edges). Real edge cost: big - weight; stand-in edges: big.
    big = float(weight.max()) + 1.0
    e = np.arange(rows.size)
    i_r, i_c = np.arange(n_r), np.arange(n_c)
    row_ix = np.concatenate([r, i_r, n_r + i_c, n_r + c])
    col_ix = np.concatenate([c, n_c + i_r, i_c, n_c + r])
    cost = np.concatenate([big - weight, np.full(n_r + n_c + e.size, big)])
    n = n_r + n_c
    graph = csr_array((cost, (row_ix, col_ix)), shape=(n, n))
    match_r, match_c = min_weight_full_bipartite_matching(graph)
    real = (match_r < n_r) & (match_c < n_c)
    # Back from (r, c) to the edge index: edges are unique pairs, so their keys are too.
    key = r * n_c + c
    order = np.argsort(key)
    picked = order[np.searchsorted(key[order], match_r[real] * n_c + match_c[real])]
    chosen[picked] = True
    return chosen


def max_cardinality_matching(
    rows: np.ndarray, cols: np.ndarray, iou: np.ndarray
) -> np.ndarray:
    """Edges of a matching with the most pairs; among those, the largest IoU sum.

    Each edge weighs 1 + iou / (n_edges + 1): the IoU term of any matching sums to less than 1,
    so one more pair always outweighs any IoU gain. This is the StarDist / Cellpose criterion.
    """
    return max_weight_matching(rows, cols, 1.0 + iou / (rows.size + 1.0))


def best_edge_per_node(
    node: np.ndarray, other: np.ndarray, scores: tuple[np.ndarray, ...], n_nodes: int
) -> np.ndarray:
    """For each node 0..n_nodes-1, the index of its best edge (-1 if it has none).

    Best = highest ``scores[0]``, then highest ``scores[1]``, ..., then the smallest ``other``
    index, i.e. the smallest partner id, so the choice never depends on edge order.
    """
    best = np.full(n_nodes, -1, dtype=np.int64)
    if node.size == 0:
        return best
    # np.lexsort sorts by its last key first.
    order = np.lexsort((other, *(-s for s in reversed(scores)), node))
    first = np.flatnonzero(np.r_[True, node[order][1:] != node[order][:-1]])
    best[node[order][first]] = order[first]
    return best
