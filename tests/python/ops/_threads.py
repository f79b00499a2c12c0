"""Thread-count control for the tests that compare CPU kernels across OpenMP thread counts."""

from __future__ import annotations

import contextlib
from typing import Iterator

from cellrt import _core


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` CPU kernel threads, then restore the previous count."""
    before = _core.get_num_threads()
    _core.set_num_threads(n)
    try:
        yield
    finally:
        _core.set_num_threads(before)
