"""Locate files shipped with xplain (the project's ``data/`` folder, installed as xplain/data)."""

from __future__ import annotations

import os
from pathlib import Path

_DATA_DIR = Path(__file__).resolve().parent / "data"


def data_path(name: str) -> Path:
    """Path of a bundled data file, e.g. ``data_path("sst2/dev.tsv")``."""
    return _DATA_DIR / name


def cache_dir() -> Path:
    """Where xplain caches derived artefacts: ``$XPLAIN_CACHE_DIR`` or ``~/.cache/xplain``."""
    root = os.environ.get("XPLAIN_CACHE_DIR") or Path.home() / ".cache" / "xplain"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path
