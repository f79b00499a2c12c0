"""Atomic file writes: the content goes to a temporary name in the destination folder and is
renamed into place, so a reader (or a run that was interrupted) sees the old file or the whole new
one, never half of one. The one place in cellrt that writes a file it does not stream."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path."""
    path = Path(path)
    # pid and thread: two writers of one name (processes or threads) never share a temp file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_json(path: str | Path, data, indent: int | None = 2) -> Path:
    """`data` as JSON text, written atomically."""
    return atomic_write_bytes(path, json.dumps(data, indent=indent).encode())
