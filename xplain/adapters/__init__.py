"""Modality adapters: how text, tables and images are presented to the methods."""

from xplain.adapters.base import Adapter, DifferentiableView, Encoded, InterpretableView
from xplain.adapters.text import TextAdapter

__all__ = ["Adapter", "DifferentiableView", "Encoded", "InterpretableView", "TextAdapter"]
