"""The boundary-regression family (RepSNet): one dense graph predicting foreground probability,
distances to the instance boundary in four directions and, optionally, class probabilities;
decoded by vote markers and a marker-controlled watershed (postprocess), with a second pass at 2x
for images of small nuclei (upscale)."""

from __future__ import annotations


import copy

import numpy as np

from cellrt.families.base import Decoded, Family, GraphSpec
from cellrt.families.boundary.postprocess import PostprocessParams, instances_from_maps
from cellrt.families.boundary.upscale import UpscaleRule, scaled_params
from cellrt.io.normalize import normalize
from cellrt.io.table import ObjectTable
from cellrt.runtime.package import PackageConfig, PackageError

OUTPUTS = ("fg_prob", "dist")  # and optionally "type_prob"


class BoundaryFamily(Family):
    """See the module docstring. `params` replaces the package's post-processing (tuning)."""

    names = ("repsnet",)

    def __init__(self, config: PackageConfig, params: PostprocessParams | None = None):
        super().__init__(config)
        outputs = config.outputs
        if outputs[:2] != OUTPUTS or len(outputs) > 3 or outputs[2:] not in ((), ("type_prob",)):
            raise PackageError(f"model package {config.name}: a {config.family} model has outputs "
                               f"fg_prob, dist[, type_prob], got {list(outputs)}")
        try:
            self.params = params or PostprocessParams.from_dict(config.postprocess)
            self.rule = UpscaleRule.from_dict(config.upscale)
        except (TypeError, ValueError) as exc:
            raise PackageError(f"model package {config.name}: {exc}") from None
        self.typed = "type_prob" in outputs

    def graphs(self) -> tuple[GraphSpec, ...]:
        return (GraphSpec("model.onnx", "image", self.config.outputs),)

    def prepare_input(self, image: np.ndarray) -> np.ndarray:
        return normalize(image, self.config.in_channels)

    def decode(self, maps: dict[str, np.ndarray], intensity: np.ndarray | None) -> Decoded:
        fg = maps["fg_prob"][0]
        labels, table = instances_from_maps(fg, maps["dist"], maps.get("type_prob"), self.params,
                                            intensity=intensity,
                                            class_names=self.config.class_names)
        # Watershed floods each foreground component on its own, so a component is the unit
        # that must be seen whole by one tile.
        return Decoded(labels, table, fg > self.params.fg_threshold, self.params.connectivity)

    def second_pass(self, table: ObjectTable) -> int:
        return 1 if self.rule is None else self.rule.factor_for(table)

    def at_scale(self, factor: int) -> "BoundaryFamily":
        return self.with_params(scaled_params(self.params, factor))

    def with_params(self, params: PostprocessParams) -> "BoundaryFamily":
        """This family with other post-processing parameters (same package, same rule)."""
        other = copy.copy(self)
        other.params = params
        return other


FAMILY = BoundaryFamily

__all__ = ["FAMILY", "BoundaryFamily", "PostprocessParams", "UpscaleRule"]
