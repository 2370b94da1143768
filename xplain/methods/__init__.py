"""Explanation methods; importing this package registers the built-in ones."""

from xplain.methods import gradient, perturbation  # noqa: F401
from xplain.methods.base import (
    Attribution,
    GradientMethod,
    Method,
    PerturbationMethod,
)
from xplain.methods.build import build_method

__all__ = ["Attribution", "GradientMethod", "Method", "PerturbationMethod", "build_method"]
