"""Modality adapters: how text, tables and images are presented to the methods."""

from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters.base import Adapter, DifferentiableView, Encoded, InterpretableView
from xplain.adapters.image import ImageAdapter
from xplain.adapters.tabular import TabularAdapter
from xplain.adapters.text import TextAdapter

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
