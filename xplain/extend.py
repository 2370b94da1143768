"""The public API for writing explanation methods and adapters (plugins).

An adapter (a new kind of input) subclasses :class:`Adapter`: ``encode`` returns an
:class:`Encoded` instance, the view builders return the view types above, and
``display`` a :class:`FeatureDisplay` saying how reports draw its features (see
``examples/timeseries_adapter.py`` and the README's "Writing an adapter").

A method is one class: it declares its name, parameters (validated on construction, with
xplain's uniform messages), paper and what it promises on known-truth models, and
implements ``attribute_points`` (gradient methods, on a :class:`DifferentiableView`) or
``attribute`` (perturbation methods, on an :class:`InterpretableView`). Its ``view``
class attribute is the view type it runs on (set by :class:`GradientMethod` and
:class:`PerturbationMethod`; e.g. ``SpatialDifferentiableView`` for a method that needs
an image's layout): it applies wherever an adapter offers that type or a subclass (see
:mod:`xplain.views`). Registered, it runs through ``explain``, ``compare``, the metrics
and the reports; check it with :func:`xplain.testing.check_method`. A complete plugin::

    from typing import Any, ClassVar

    import torch

    from xplain.extend import (
        NONE, DifferentiableView, GradientMethod, Interval, Param, gradients,
        register_method,
    )


    @register_method
    class GradientTimesDelta(GradientMethod):
        \"\"\"The gradient times the input's difference from the baseline.

        A one-point Integrated Gradients (Sundararajan et al. 2017, ICML);
        exact on linear models.
        \"\"\"

        name: ClassVar[str] = "gradient_times_delta"
        reference: ClassVar[str] = "Sundararajan et al. 2017, arXiv:1703.01365"
        known_truth: ClassVar[str | None] = "exact"
        parameters = {
            "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="rows per call"),
        }

        def attribute_points(
            self, view: DifferentiableView, points: torch.Tensor, target: int
        ) -> tuple[torch.Tensor, dict[str, Any]]:
            grad = gradients(view, points, target, self.params["internal_batch_size"])
            return (points - view.baseline) * grad, {}

Then ``xplain.testing.check_method(GradientTimesDelta)`` passes and
``explainer.explain(x, method="gradient_times_delta")`` works. Packages can also register
methods through the ``xplain.methods`` entry-point group.
"""

from __future__ import annotations

from xplain._validation import (
    BOOLEAN,
    NONE,
    SEED,
    SEED_SEQUENCE,
    Constraint,
    InstanceOf,
    Interval,
    Options,
    Param,
    Satisfies,
)
from xplain.adapters.base import Adapter, Encoded
from xplain.display import FeatureDisplay
from xplain.methods.base import (
    Attribution,
    GradientMethod,
    Method,
    PerturbationMethod,
    gradients,
)
from xplain.methods.gradient.smoothgrad import Smooth
from xplain.registry import register_method
from xplain.views import (
    DifferentiableView,
    FeatureMap,
    Groups,
    InterpretableView,
    SpatialDifferentiableView,
    Subset,
    TreeView,
    View,
)

__all__ = [
    "BOOLEAN",
    "NONE",
    "SEED",
    "SEED_SEQUENCE",
    "Adapter",
    "Attribution",
    "Constraint",
    "DifferentiableView",
    "Encoded",
    "FeatureDisplay",
    "FeatureMap",
    "Groups",
    "GradientMethod",
    "InstanceOf",
    "InterpretableView",
    "Interval",
    "Method",
    "Options",
    "Param",
    "PerturbationMethod",
    "Satisfies",
    "Smooth",
    "SpatialDifferentiableView",
    "Subset",
    "TreeView",
    "View",
    "gradients",
    "register_method",
]
