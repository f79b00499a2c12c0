"""The layers of python/cellrt: every import (function-local ones and literal
importlib.import_module calls included) must go to the importer's own subpackage or to a layer
below it. Two subpackages on one layer may not import each other, so no cycle between
subpackages can exist. docs/architecture.md explains the layers; the order itself is written
once, here."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "cellrt"

# Top to bottom. "<root>" is cellrt/__init__.py, the public surface (segment, Engine, ...).
LAYERS: list[tuple[str, ...]] = [
    ("cli",),
    ("<root>",),
    ("calibrate", "train", "export"),
    ("engine",),
    ("families",),
    ("runtime",),
    ("models",),
    ("io", "metrics"),
    ("torch",),
    ("ops",),
    ("reference",),
    ("_backend",),
    ("_version", "_core", "_cuda"),
]
RANK = {unit: len(LAYERS) - i for i, units in enumerate(LAYERS) for unit in units}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module, dotted
    target: str  # imported module, dotted
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:]) if "." in dotted else Path()
    base = root / rel
    return (base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()
            or any(root.glob(f"{rel}.*.so")) or any(root.glob(f"{rel}.pyi")))


def imports(root: Path) -> list[Edge]:
    """Every import of a cellrt module by a module under `root` (the cellrt package folder)."""
    edges = []
    for path in sorted(root.rglob("*.py")):
        source = module_name(root, path)
        package = source if path.name == "__init__.py" else source.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                # `from cellrt.x import y` imports cellrt.x.y when y is a module.
                subs = [f"{module}.{a.name}" for a in node.names]
                found = [s for s in subs if _is_module(root, s)]
                targets = found + ([module] if len(found) < len(subs) else [])
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module"
                  and node.args and isinstance(node.args[0], ast.Constant)
                  and isinstance(node.args[0].value, str)):
                targets = [node.args[0].value]
            edges += [Edge(source, t, node.lineno) for t in targets
                      if t == "cellrt" or t.startswith("cellrt.")]
    return edges


def unit(module: str) -> str:
    parts = module.split(".")
    return "<root>" if len(parts) == 1 else parts[1]


def violations(root: Path) -> list[str]:
    """Imports that run upward or sideways between subpackages, and subpackages that are in no
    layer."""
    bad = []
    for e in imports(root):
        src, dst = unit(e.source), unit(e.target)
        if src == dst:
            continue
        unknown = [u for u in (src, dst) if u not in RANK]
        if unknown:
            bad.append(f"{e}: {', '.join(unknown)} is in no layer (tests/test_layering.py)")
        elif RANK[dst] >= RANK[src]:
            where = "above" if RANK[dst] > RANK[src] else "beside"
            bad.append(f"{e}: {dst} is {where} {src}")
    return bad


def test_cellrt_imports_only_downward():
    assert imports(PACKAGE), "no imports found: wrong package path?"
    assert violations(PACKAGE) == []


def test_every_subpackage_has_a_layer():
    units = {unit(module_name(PACKAGE, p)) for p in PACKAGE.rglob("*.py")}
    assert units - set(RANK) == set()


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "cellrt"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(text)
    return root


# Imports the layering forbids, among them those of the tree before the layers existed: the
# backend choice calling the pipeline, the TensorRT backend reaching into tiling, inference
# post-processing importing training code, output writing importing the pipeline, and an
# import cycle between two subpackages.
FORBIDDEN = {
    "runtime calls the engine": {
        "runtime/auto.py": "def f():\n    from cellrt.engine.segment import segment_image\n"},
    "runtime uses a CLI helper": {
        "runtime/bench.py": "from cellrt.cli.options import add_backend_argument\n"},
    "families import training code": {
        "families/post.py": "from cellrt.train.targets import centerness\n"},
    "io imports the engine": {
        "io/outputs.py": "import cellrt.engine.tiling\n"},
    "a relative import upward": {
        "io/outputs.py": "from ..engine import tiling\n"},
    "import_module of a layer above": {
        "ops/x.py": "import importlib\nimportlib.import_module('cellrt.engine.api')\n"},
    "siblings on one layer": {
        "train/a.py": "from cellrt.export import package\n"},
    "a cycle": {
        "engine/a.py": "from cellrt.families import b\n",
        "families/b.py": "from cellrt.engine import a\n"},
    "the public surface used from below": {
        "engine/a.py": "from cellrt import segment\n"},
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_forbidden_imports_are_caught(tmp_path, case):
    found = violations(_tree(tmp_path, FORBIDDEN[case]))
    assert len(found) == 1, found


def test_allowed_imports_pass(tmp_path):
    root = _tree(tmp_path, {
        "engine/a.py": "from cellrt.families import b\nfrom cellrt import ops\n"
                       "from . import c\nimport cellrt.io.x\n",
        "engine/c.py": "",
        "families/b.py": "from cellrt.runtime.package import X\n",
        "cli/m.py": "from cellrt import segment\nfrom cellrt.engine import a\n",
        "ops/__init__.py": "from cellrt import _core\n",
        "_core.pyi": "",
    })
    assert violations(root) == []
