"""Modality adapters: how text, tables and images are presented to the methods.

Every name is imported on first use (``xplain.adapters.ImageAdapter``), so that importing
xplain, or a method, loads none of the adapters and their dependencies (torch, pandas).
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module defining it, imported on first access
_LAZY = {
    "Adapter": "xplain.adapters.base",
    "DifferentiableView": "xplain.adapters.base",
    "Encoded": "xplain.adapters.base",
    "InterpretableView": "xplain.adapters.base",
    "ImageAdapter": "xplain.adapters.image",
    "TabularAdapter": "xplain.adapters.tabular",
    "TabularEncoder": "xplain.adapters._tabular_encoder",
    "TextAdapter": "xplain.adapters.text",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'xplain.adapters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Adapter",
    "DifferentiableView",
    "Encoded",
    "ImageAdapter",
    "InterpretableView",
    "TabularAdapter",
    "TabularEncoder",
    "TextAdapter",
]
