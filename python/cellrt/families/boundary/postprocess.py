"""Boundary-regression post-processing on the compiled core:
foreground + four boundary distances -> markers -> marker-controlled watershed of -centerness ->
instances, each with a class (majority vote of the type head) and a score (mean foreground
probability).

Centerness sqrt(min(l,r)/max(l,r) * min(u,d)/max(u,d)) is ~1 at a nucleus centre and falls to ~0
where two touching nuclei meet (there one of each distance pair is ~1 pixel); flooding
-centerness grows markers back to their boundaries. Markers come from one of three rules:

* ``"votes"``: every foreground pixel votes for the centre its four distances imply
  (``ops.boundary_votes``); the vote density, smoothed by a Gaussian of ``vote_sigma`` pixels,
  above ``vote_threshold`` votes per pixel seeds a marker. All pixels of a nucleus vote into one
  cluster, so touching nuclei keep separate markers even where their centerness does not dip.
* ``"vote_maxima"``: the same density, but a cluster above ``vote_threshold`` seeds one marker
  per peak that rises at least ``vote_h`` votes per pixel above the saddle to any higher peak of
  its cluster and above the background (density 0): the h-maxima of the density restricted to
  its clusters. Two touching nuclei whose vote clusters join above the threshold keep two
  markers if the dip between their centres is deep enough. The background floor drops clusters
  whose peak is below ``vote_h``; their pixels join a neighbour or, alone, are dropped. Clusters
  never see each other, so a tile with a halo wider than a cluster gives the markers of the
  whole image. The shipped packages use it.
* ``"centerness"``: centerness above ``marker_threshold``, the rule of the first packages
  (the default, so their configs keep their meaning).

Each pixel votes for its most probable class after the probabilities are multiplied by
``type_weights``, a class-prior correction tuned on val for mPQ+ (a network trained on
imbalanced classes under-calls the rare ones). docs/tuning.md has the measurements behind each
rule and the tuned values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellrt import ops
from cellrt.io.table import ObjectTable
from cellrt.families.boundary.maps import centerness

MARKER_RULES = ("centerness", "votes", "vote_maxima")


@dataclass
class PostprocessParams:
    fg_threshold: float = 0.5  # foreground probability above which a pixel is nucleus
    marker_threshold: float = 0.5  # centerness above which a pixel seeds a marker
    min_marker_size: int = 3  # markers smaller than this (pixels) are noise
    min_size: int = 8  # instances smaller than this (pixels) are dropped
    connectivity: int = 1
    markers: str = "centerness"  # marker rule, one of MARKER_RULES (module docstring)
    vote_sigma: float = 2.0  # pixels: Gaussian smoothing of the vote density
    vote_threshold: float = 1.0  # smoothed votes per pixel above which a pixel seeds a marker
    vote_h: float = 2.0  # "vote_maxima": votes per pixel a peak must rise above its surroundings
    # Per-class multipliers of the type probabilities before each pixel's vote (a class-prior
    # correction tuned on val for multi-class PQ, cellrt.calibrate.tune.tune_type_weights); None: 1.
    type_weights: tuple[float, ...] | None = None

    def __post_init__(self):
        if self.markers not in MARKER_RULES:
            raise ValueError(f"post-processing: markers must be one of {list(MARKER_RULES)}, "
                             f"got {self.markers!r}")
        if not self.vote_sigma > 0:
            raise ValueError(f"post-processing: vote_sigma must be > 0, got {self.vote_sigma}")
        if not self.vote_h > 0:
            raise ValueError(f"post-processing: vote_h must be > 0, got {self.vote_h}")
        if self.type_weights is not None:
            try:
                w = tuple(float(v) for v in self.type_weights)
            except (TypeError, ValueError):
                w = ()
            if not w or not all(np.isfinite(v) and v > 0 for v in w):
                raise ValueError("post-processing: type_weights must be finite numbers > 0, "
                                 f"got {list(self.type_weights)}")
            self.type_weights = w

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PostprocessParams":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"post-processing: unknown parameters {sorted(unknown)}")
        return cls(**d)


def instances_from_maps(fg_prob: np.ndarray, dist: np.ndarray, type_prob: np.ndarray | None,
                        params: PostprocessParams, intensity: np.ndarray | None = None,
                        class_names=("nucleus",)) -> tuple[np.ndarray, ObjectTable]:
    """Dense network outputs of one image -> (labels int32 (H, W) with ids 1..N, object table).

    fg_prob: (H, W) foreground probability; dist: (4, H, W) boundary distances in pixels
    (left, right, up, down); type_prob: (K, H, W) class probabilities or None; intensity:
    (H, W, C) image whose per-instance channel means go into the table.
    The table's rows are the instances in id order: ops.regionprops' measurements
    ("mean_intensity" over `intensity`), "score" (mean foreground probability) and "class"
    (majority vote of the type head, 1..K; 1 without one).
    """
    mask = fg_prob > params.fg_threshold
    cent = centerness(dist)
    cent[~mask] = 0.0
    if params.markers == "vote_maxima":
        # Peaks are single pixels (or plateaus); min_marker_size would delete them. Diagonal
        # neighbours on one plateau are one peak.
        density = _vote_density(dist, mask, params)
        markers = ops.label(density_maxima(density, mask, params), connectivity=2)
    else:
        seeds = (_vote_clusters(_vote_density(dist, mask, params), mask, params)
                 if params.markers == "votes" else cent > params.marker_threshold)
        markers = ops.label(seeds, connectivity=params.connectivity)
        markers = ops.remove_small_objects(markers, params.min_marker_size)
    labels = ops.watershed(-cent, markers, mask=mask, connectivity=params.connectivity)
    labels = ops.remove_small_objects(labels, params.min_size)
    labels = ops.relabel_sequential(ops.fill_holes(labels))
    classes = None if type_prob is None else pixel_classes(labels, type_prob, params.type_weights)
    # One regionprops pass measures the image channels and the score (last channel) together.
    planes = [fg_prob.astype(np.float32)[..., None]]
    if intensity is not None:
        planes.insert(0, intensity.reshape(*intensity.shape[:2], -1).astype(np.float32))
    props = ops.regionprops(labels, intensity=np.concatenate(planes, axis=2), classes=classes,
                            shape=True)
    means = np.asarray(props.pop("mean_intensity"))
    columns = {"id": props.pop("label"), **props, "score": means[:, -1]}
    if intensity is not None:
        columns["mean_intensity"] = means[:, :-1]
    return labels, ObjectTable.from_columns(columns, class_names)


def pixel_classes(labels: np.ndarray, type_prob: np.ndarray, weights=None) -> np.ndarray:
    """Each instance pixel's vote, 1..K (0 on background): its most probable class after the
    probabilities are multiplied by `weights` (PostprocessParams.type_weights). ops.regionprops
    turns the votes into one class per instance (majority)."""
    if weights is not None:
        if len(weights) != type_prob.shape[0]:
            raise ValueError(f"post-processing: type_weights has {len(weights)} values, the type "
                             f"head {type_prob.shape[0]} classes")
        type_prob = type_prob * np.asarray(weights, np.float32)[:, None, None]
    classes = (np.argmax(type_prob, axis=0) + 1).astype(np.int32)
    classes[labels == 0] = 0
    return classes


def _vote_density(dist: np.ndarray, mask: np.ndarray, params: PostprocessParams) -> np.ndarray:
    """Centre votes per pixel, smoothed by a Gaussian of vote_sigma pixels."""
    import cv2

    votes = ops.boundary_votes(dist, mask).astype(np.float32)
    # Kernel size 0: OpenCV derives it from sigma (+-4 sigma for float input). The tile halo
    # (object_halo, 96 px in the shipped packages) is far wider, so the density of every pixel
    # that can seed an owned instance is the same in a tile as in the whole image.
    return cv2.GaussianBlur(votes, (0, 0), params.vote_sigma, borderType=cv2.BORDER_REFLECT)


def _vote_clusters(density: np.ndarray, mask: np.ndarray, params: PostprocessParams) -> np.ndarray:
    """Foreground pixels where the smoothed centre-vote density exceeds the threshold."""
    return (density > params.vote_threshold) & mask


def density_maxima(density: np.ndarray, mask: np.ndarray, params: PostprocessParams) -> np.ndarray:
    """The h-maxima (h = vote_h) of a vote density restricted to its clusters (vote_threshold),
    over a floor of 0: pixels of peaks that rise at least h above every path to a higher value."""
    density = density.astype(np.float64)
    clusters = _vote_clusters(density, mask, params)
    maxima = np.zeros_like(clusters)
    rows, cols = np.nonzero(clusters.any(axis=1))[0], np.nonzero(clusters.any(axis=0))[0]
    if rows.size == 0:
        return maxima
    # Outside the clusters' bounding box g is 0 and so is its reconstruction; working on the box
    # alone is exact (0 is also what the dilation pads with, in effect) and cheaper on sparse
    # images.
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    c = clusters[box]
    g = np.where(c, density[box], 0.0)
    rec = reconstruct_by_dilation(np.maximum(g - params.vote_h, 0.0), g)
    # g - rec is exactly h at a peak in exact arithmetic; the tolerance absorbs the rounding of
    # (g - h) and keeps float noise on a plateau from making or breaking a peak.
    maxima[box] = c & (g - rec >= params.vote_h - 1e-9 * max(1.0, float(g.max(initial=0.0))))
    return maxima


def reconstruct_by_dilation(seed: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Grey-level morphological reconstruction by dilation (8-connected) of `seed` under
    `limit` (seed <= limit, same shape, float): seed dilated and clipped by limit until stable.
    Each step propagates one pixel, so the cost is the widest vote cluster's geodesic radius in
    3x3 dilations over the image (a few tens of steps for nuclei)."""
    import cv2

    kernel = np.ones((3, 3), np.uint8)
    rec = np.minimum(seed, limit)
    while True:
        # cv2.dilate pads with the minimum (BORDER_CONSTANT), so the image edge adds nothing.
        grown = np.minimum(cv2.dilate(rec, kernel), limit)
        if np.array_equal(grown, rec):
            return rec
        rec = grown
