"""Boundary-regression post-processing on the compiled core:
foreground + four boundary distances -> markers -> marker-controlled watershed of -centerness ->
instances, each with a class (majority vote of the type head) and a score (mean foreground
probability).

Centerness sqrt(min(l,r)/max(l,r) * min(u,d)/max(u,d)) is ~1 at a nucleus centre and falls to ~0
where two touching nuclei meet (there one of each distance pair is ~1 pixel); flooding
-centerness grows markers back to their boundaries. Markers come from one of two rules:

* ``"votes"``: every foreground pixel votes for the centre its four distances imply
  (``ops.boundary_votes``); the vote density, smoothed by a Gaussian of ``vote_sigma`` pixels,
  above ``vote_threshold`` votes per pixel seeds a marker. All pixels of a nucleus vote into one
  cluster, so touching nuclei keep separate markers even where their centerness does not dip.
  Measured with the same networks, each rule's parameters tuned on the val split, scored on
  the test split: dsb2018 fluorescence AP@0.5 0.789 -> 0.802 (PQ 0.765 -> 0.772); CoNSeP PQ
  0.372 -> 0.395 (mPQ+ 0.263 -> 0.276).
* ``"centerness"``: centerness above ``marker_threshold``, the rule of the first packages
  (the default, so their configs keep their meaning).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cellrt import ops
from cellrt.train.targets import centerness

MARKER_RULES = ("centerness", "votes")


@dataclass
class PostprocessParams:
    fg_threshold: float = 0.5  # foreground probability above which a pixel is nucleus
    marker_threshold: float = 0.5  # centerness above which a pixel seeds a marker
    min_marker_size: int = 3  # markers smaller than this (pixels) are noise
    min_size: int = 8  # instances smaller than this (pixels) are dropped
    connectivity: int = 1
    markers: str = "centerness"  # marker rule: "centerness" or "votes" (module docstring)
    vote_sigma: float = 2.0  # pixels: Gaussian smoothing of the vote density
    vote_threshold: float = 1.0  # smoothed votes per pixel above which a pixel seeds a marker

    def __post_init__(self):
        if self.markers not in MARKER_RULES:
            raise ValueError(f"post-processing: markers must be one of {list(MARKER_RULES)}, "
                             f"got {self.markers!r}")
        if not self.vote_sigma > 0:
            raise ValueError(f"post-processing: vote_sigma must be > 0, got {self.vote_sigma}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PostprocessParams":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"post-processing: unknown parameters {sorted(unknown)}")
        return cls(**d)


def instances_from_maps(fg_prob: np.ndarray, dist: np.ndarray, type_prob: np.ndarray | None,
                        params: PostprocessParams,
                        intensity: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Dense network outputs of one image -> (labels int32 (H, W) with ids 1..N, object table).

    fg_prob: (H, W) foreground probability; dist: (4, H, W) boundary distances in pixels
    (left, right, up, down); type_prob: (K, H, W) class probabilities or None; intensity:
    (H, W, C) image whose per-instance channel means go into the table.
    The table is ops.regionprops' dict ("mean_intensity" over `intensity`) plus "score" (mean
    foreground probability) and, with a type head, "class" (majority vote, 1..K).
    """
    mask = fg_prob > params.fg_threshold
    cent = centerness(dist)
    cent[~mask] = 0.0
    seeds = (_vote_peaks(dist, mask, params) if params.markers == "votes"
             else cent > params.marker_threshold)
    markers = ops.label(seeds, connectivity=params.connectivity)
    markers = ops.remove_small_objects(markers, params.min_marker_size)
    labels = ops.watershed(-cent, markers, mask=mask, connectivity=params.connectivity)
    labels = ops.remove_small_objects(labels, params.min_size)
    labels = ops.relabel_sequential(ops.fill_holes(labels))
    classes = None
    if type_prob is not None:
        classes = (np.argmax(type_prob, axis=0) + 1).astype(np.int32)
        classes[labels == 0] = 0
    # One regionprops pass measures the image channels and the score (last channel) together.
    planes = [fg_prob.astype(np.float32)[..., None]]
    if intensity is not None:
        planes.insert(0, intensity.reshape(*intensity.shape[:2], -1).astype(np.float32))
    table = ops.regionprops(labels, intensity=np.concatenate(planes, axis=2), classes=classes)
    means = np.asarray(table.pop("mean_intensity"))
    table["score"] = means[:, -1]
    if intensity is not None:
        table["mean_intensity"] = means[:, :-1]
    return labels, table


def _vote_peaks(dist: np.ndarray, mask: np.ndarray, params: PostprocessParams) -> np.ndarray:
    """Foreground pixels where the smoothed centre-vote density exceeds the threshold."""
    import cv2

    votes = ops.boundary_votes(dist, mask).astype(np.float32)
    # Kernel size 0: OpenCV derives it from sigma (+-4 sigma for float input). The tile halo
    # (object_halo, 96 px in the shipped packages) is far wider, so the density of every pixel
    # that can seed an owned instance is the same in a tile as in the whole image.
    density = cv2.GaussianBlur(votes, (0, 0), params.vote_sigma, borderType=cv2.BORDER_REFLECT)
    return (density > params.vote_threshold) & mask
