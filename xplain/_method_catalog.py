"""The built-in methods by name: where each class lives and what the registry lists of it.

``xplain methods`` and :func:`xplain.available_methods` read this catalog, so listing the
methods imports none of them (nor torch); :func:`xplain.registry.get_method` imports a
method's module on first use, which registers its class. Each entry repeats its class's
``family``, ``view`` and ``reference``: tests/test_method_registry.py checks every entry
against its class, so the two cannot drift apart.

This module imports neither adapters nor methods.
"""

from __future__ import annotations

from dataclasses import dataclass

from xplain.views import (
    DifferentiableView,
    InterpretableView,
    SpatialDifferentiableView,
    TreeView,
    View,
)


@dataclass(frozen=True)
class CatalogEntry:
    """A built-in method: class ``cls`` of module ``module``; ``family``, ``view`` and
    ``reference`` are that class's attributes of the same names."""

    module: str
    cls: str
    family: str
    view: type[View]
    reference: str

    @property
    def path(self) -> str:
        """``module.cls``, how errors name the class."""
        return f"{self.module}.{self.cls}"


def _gradient(
    module: str, cls: str, reference: str, view: type[View] = DifferentiableView
) -> CatalogEntry:
    return CatalogEntry(f"xplain.methods.gradient.{module}", cls, "gradient", view, reference)


def _perturbation(
    module: str, cls: str, reference: str, view: type[View] = InterpretableView
) -> CatalogEntry:
    module = f"xplain.methods.perturbation.{module}"
    return CatalogEntry(module, cls, "perturbation", view, reference)


_SPATIAL = SpatialDifferentiableView
_SELVARAJU = "Selvaraju et al. 2017, arXiv:1610.02391"

BUILT_IN_METHODS: dict[str, CatalogEntry] = {
    "deeplift": _gradient("deeplift", "DeepLift", "Shrikumar et al. 2017, arXiv:1704.02685"),
    "deepshap": _gradient("deepshap", "DeepShap", "Lundberg & Lee 2017, arXiv:1705.07874"),
    "grad_cam": _gradient("grad_cam", "GradCam", _SELVARAJU, _SPATIAL),
    "gradient_shap": _gradient(
        "gradient_shap", "GradientShap", "Erion et al. 2021, arXiv:1906.10670"
    ),
    "guided_backprop": _gradient(
        "guided_backprop", "GuidedBackprop", "Springenberg et al. 2015, arXiv:1412.6806"
    ),
    "guided_grad_cam": _gradient("guided_grad_cam", "GuidedGradCam", _SELVARAJU, _SPATIAL),
    "input_x_gradient": _gradient(
        "input_x_gradient", "InputXGradient", "Shrikumar et al. 2016, arXiv:1605.01713"
    ),
    "integrated_gradients": _gradient(
        "integrated_gradients",
        "IntegratedGradients",
        "Sundararajan et al. 2017, arXiv:1703.01365",
    ),
    "saliency": _gradient("saliency", "Saliency", "Simonyan et al. 2014, arXiv:1312.6034"),
    "smoothgrad": _gradient("smoothgrad", "SmoothGrad", "Smilkov et al. 2017, arXiv:1706.03825"),
    "xrai": _gradient("xrai", "Xrai", "Kapishnikov et al. 2019, arXiv:1906.02825", _SPATIAL),
    "exact_shapley": _perturbation(
        "exact_shapley", "ExactShapley", "Shapley 1953; Strumbelj and Kononenko 2014"
    ),
    "kernel_shap": _perturbation(
        "kernel_shap", "KernelShap", "Lundberg and Lee 2017, arXiv:1705.07874"
    ),
    "lime": _perturbation("lime", "Lime", "Ribeiro et al. 2016, arXiv:1602.04938"),
    "occlusion": _perturbation("occlusion", "Occlusion", "Zeiler and Fergus 2014, arXiv:1311.2901"),
    "tree_shap": _perturbation(
        "tree_shap",
        "TreeShap",
        "Lundberg et al. 2020, Nature Machine Intelligence, arXiv:1905.04610",
        TreeView,
    ),
}
