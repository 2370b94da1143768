"""Modality adapters: how text, tables and images are presented to the methods.

The built-in adapters are imported on first use (``xplain.adapters.ImageAdapter``), so
that importing xplain, or a method, loads none of them and their dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

from xplain.adapters.base import Adapter, DifferentiableView, Encoded, InterpretableView

# public name -> the module defining it, imported on first access
_LAZY = {
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
