"""The .pyi stubs of the compiled modules list exactly the bound functions, with the parameter
names (py::arg) and defaults of the bindings, so keyword calls type-check as they run."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

import cellrt
from cellrt import _core

PACKAGE = Path(cellrt.__file__).parent


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if text[start:].strip():
        parts.append(text[start:])
    return [p.strip() for p in parts]


def _runtime_params(fn) -> list[tuple[str, bool]]:
    """(name, has_default) of each parameter, from pybind11's signature line."""
    line = fn.__doc__.splitlines()[0]
    inner = line[line.index("(") + 1:line.rindex(") ->")]
    return [(p.split(":")[0].strip(), " = " in p) for p in _split_top_level(inner)]


def _stub_params(fn: ast.FunctionDef) -> list[tuple[str, bool]]:
    a = fn.args
    positional = a.posonlyargs + a.args
    with_default = set(range(len(positional) - len(a.defaults), len(positional)))
    params = [(p.arg, i in with_default) for i, p in enumerate(positional)]
    params += [(p.arg, d is not None) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    return params


def _stub_functions(body: list[ast.stmt]) -> dict[str, list[ast.FunctionDef]]:
    out: dict[str, list[ast.FunctionDef]] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef):
            out.setdefault(node.name, []).append(node)
    return out


def _check_module(module, stub_body: list[ast.stmt]) -> None:
    stubs = _stub_functions(stub_body)
    bound = {n for n in dir(module) if not n.startswith("__") and callable(getattr(module, n))}
    assert bound == set(stubs), f"stub and module differ: {sorted(bound ^ set(stubs))}"
    for name, defs in stubs.items():
        runtime = _runtime_params(getattr(module, name))
        if len(defs) == 1:
            assert _stub_params(defs[0]) == runtime, name
        else:  # @overload variants: each spells the same names; defaults differ by design
            for d in defs:
                assert [n for n, _ in _stub_params(d)] == [n for n, _ in runtime], name


def _stub(name: str) -> ast.Module:
    return ast.parse((PACKAGE / f"{name}.pyi").read_text())


def test_core_stub_matches_bindings():
    tree = _stub("_core")
    _check_module(_core, tree.body)
    testing = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "_Testing")
    _check_module(_core.testing, testing.body)


@pytest.mark.skipif(not importlib.util.find_spec("cellrt._cuda"),
                    reason="cellrt._cuda is not built here")
def test_cuda_stub_matches_bindings():
    cuda = importlib.import_module("cellrt._cuda")
    _check_module(cuda, _stub("_cuda").body)
