"""Where cellrt keeps what it measures or builds per machine (auto-backend choices, TensorRT
engines): $CELLRT_CACHE_DIR, else $XDG_CACHE_HOME/cellrt, else ~/.cache/cellrt."""

from __future__ import annotations

import json
import os
from pathlib import Path


def cache_dir(sub: str = "") -> Path:
    root = os.environ.get("CELLRT_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "cellrt")
    path = Path(root) / sub if sub else Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_json(path: Path) -> dict:
    """A cache file's content; {} when missing or unreadable (a cache is never worth a crash)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
