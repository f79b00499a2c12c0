"""Test configuration: the `cuda` marker skips where no GPU is usable; `slow` needs --runslow;
every test gets the NumPy (and, if imported, torch) RNG state restored afterwards."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config, items):
    from cellrt import _backend

    skip_cuda = pytest.mark.skip(reason=f"no usable GPU: {_backend.CUDA_UNAVAILABLE_REASON}")
    skip_slow = pytest.mark.skip(reason="slow; pass --runslow to run")
    for item in items:
        if "cuda" in item.keywords and not _backend.HAS_CUDA:
            item.add_marker(skip_cuda)
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Per-machine caches (auto-backend choices, TensorRT engines) go to a fresh folder: tests
    measure for themselves and never read or write the user's cache."""
    old = os.environ.get("CELLRT_CACHE_DIR")
    os.environ["CELLRT_CACHE_DIR"] = str(tmp_path_factory.mktemp("cellrt-cache"))
    yield
    if old is None:
        os.environ.pop("CELLRT_CACHE_DIR", None)
    else:
        os.environ["CELLRT_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _restore_rng():
    """Tests that use global RNGs must not change what the next test sees."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    torch = sys.modules.get("torch")
    torch_state = torch.get_rng_state() if torch is not None else None
    yield
    np.random.set_state(np_state)
    random.setstate(py_state)
    if torch is not None and torch_state is not None:
        torch.set_rng_state(torch_state)
