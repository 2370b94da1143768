"""Gradient methods (importing this package registers them)."""

from xplain.methods.gradient import (  # noqa: F401
    deeplift,
    deepshap,
    grad_cam,
    gradient_shap,
    guided_backprop,
    guided_grad_cam,
    input_x_gradient,
    integrated_gradients,
    saliency,
    smoothgrad,
    xrai,
)
