"""Explanation methods; importing this package registers the built-in ones."""

from xplain.methods import gradient, perturbation  # noqa: F401
from xplain.methods.base import (
    Attribution,
    GradientMethod,
    Method,
    PerturbationMethod,
)
from xplain.methods.build import build_method
from xplain.methods.gradient.smoothgrad import Smooth

__all__ = [
    "Attribution",
    "GradientMethod",
    "Method",
    "PerturbationMethod",
    "Smooth",
    "build_method",
]
