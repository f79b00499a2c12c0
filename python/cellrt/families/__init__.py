"""Model families: each decodes one kind of network into instances behind the interface of
cellrt.families.base. `bind(config)` returns the family a package config names."""

from __future__ import annotations

import importlib

from cellrt.families.base import Decoded, Family, GraphSpec, TileGeometry
from cellrt.runtime.package import PackageConfig, PackageError

# config "family" value -> module holding its Family class (imported on first use).
REGISTRY = {"repsnet": "cellrt.families.boundary"}


def bind(config: PackageConfig) -> Family:
    """The family of `config`, validated against it (PackageError naming what is wrong)."""
    if config.family not in REGISTRY:
        raise PackageError(f"model package {config.name}: unknown family {config.family!r} "
                           f"(this cellrt knows {sorted(REGISTRY)})")
    return importlib.import_module(REGISTRY[config.family]).FAMILY(config)


__all__ = ["REGISTRY", "Decoded", "Family", "GraphSpec", "TileGeometry", "bind"]
