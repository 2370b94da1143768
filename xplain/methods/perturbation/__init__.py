"""Perturbation methods (importing this package registers them)."""

from xplain.methods.perturbation import (  # noqa: F401
    exact_shapley,
    kernel_shap,
    lime,
    occlusion,
    tree_shap,
)
