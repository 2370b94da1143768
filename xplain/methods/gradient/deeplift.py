"""DeepLIFT with the rescale rule."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import NONE, Interval, Param
from xplain.methods._completeness import completeness
from xplain.methods.base import GradientMethod
from xplain.methods.gradient._rescale import rescale_gradients
from xplain.registry import register_method
from xplain.views import DifferentiableView


@register_method
class DeepLift(GradientMethod):
    """Differences from a baseline propagated through the network with the rescale rule.

    Shrikumar, Greenside and Kundaje (2017), "Learning Important Features Through
    Propagating Activation Differences" (ICML). Each non-linear module of ``view.module``
    (ReLU, Tanh, Sigmoid, ELU, Softplus, GELU, SiLU, Hugging Face's activation modules,
    Softmax, max pooling; see :mod:`xplain.methods.gradient._rescale`) passes back the
    multiplier ``Δout / Δin`` instead of its local gradient; everything else (linear
    layers, convolutions, normalisation, functional operations) passes plain gradients.
    Input and baseline go through the network in one batched forward ``[x; baseline]``,
    as in Captum, and attributions are ``(x - baseline) * multipliers``.

    On networks made of linear maps, rescaled activations and max pooling the attributions
    sum to ``f(x) - f(baseline)`` exactly (summation-to-delta). Where the network
    multiplies activations together or uses functional activations, those operations pass
    their plain gradient, so the sum is only approximate. On a Hugging Face transformer
    (the text adapter's embedding view, ``view.module`` = the model) the rule applies to
    the feed-forward activations (GELU...) and the pooler's Tanh; the attention paths
    (softmax of query-key products times the values), LayerNorm and residual sums are
    handled by their gradient at the concatenated batch. ``diagnostics["completeness_gap"]``
    reports |sum - delta| / |delta|, ``delta`` = f(x) - f(baseline), in every case (an
    absolute error when ``delta`` nears zero; see :mod:`xplain.methods._completeness`).
    ``diagnostics["rescaled_calls"]`` counts module calls given the rescale rule in one
    forward pass (0 means DeepLIFT reduced to gradient x (input - baseline)).

    A module object used at several places in one forward is rescaled at each call from
    that call's own input and output (Captum raises an error instead).
    """

    name: ClassVar[str] = "deeplift"
    reference: ClassVar[str] = "Shrikumar et al. 2017, arXiv:1704.02685"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "eps": Param(
            1e-10,
            Interval(float, 0, None, closed="neither"),
            doc="|Δin| below which the plain gradient is kept",
        ),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="input/baseline pairs per forward/backward"
        ),
    }

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        return 2 * n_points  # each point with its baseline

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        references = view.baseline.to(points).expand_as(points)  # [N, *S]
        multipliers, scores, reference_scores, stats = rescale_gradients(
            view,
            points,
            references,
            target,
            self.params["eps"],
            self.params["internal_batch_size"],
            self.name,
        )
        attributions = (points.detach() - references) * multipliers  # [N, *S]
        return attributions, {**completeness(attributions, scores, reference_scores), **stats}
