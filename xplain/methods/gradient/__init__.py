"""Gradient methods (importing this package registers them)."""

from xplain.methods.gradient import (  # noqa: F401
    input_x_gradient,
    integrated_gradients,
    saliency,
    smoothgrad,
)
