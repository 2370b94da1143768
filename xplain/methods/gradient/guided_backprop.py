"""Guided backpropagation."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import NONE, Interval, Param
from xplain.methods.base import GradientMethod
from xplain.methods.gradient._guided import guided_gradients, without_relus
from xplain.registry import register_method
from xplain.views import DifferentiableView


@register_method
class GuidedBackprop(GradientMethod):
    """The input gradient with every ReLU passing back only positive gradients.

    Springenberg, Dosovitskiy, Brox and Riedmiller (2015), "Striving for Simplicity: The
    All Convolutional Net" (ICLR workshop). At each ``torch.nn.ReLU`` module of the model
    the gradient is ``1[x > 0] * max(grad_out, 0)`` instead of ``1[x > 0] * grad_out``;
    everything else backpropagates as usual. The rule is applied through forward hooks that
    are removed afterwards, also on error; functional ``F.relu`` calls are not affected (as
    in Captum). It applies to any modality whose model is a torch module with ReLU modules
    and raises MethodNotApplicableError when there are none, or when the forward pass calls
    none of them (a model using ``F.relu`` beside an unused ``nn.ReLU``: the result would be
    the plain gradient). ``diagnostics["guided_relus"]`` counts the ReLU modules called.
    """

    name: ClassVar[str] = "guided_backprop"
    reference: ClassVar[str] = "Springenberg et al. 2015, arXiv:1412.6806"
    known_truth: ClassVar[str | None] = "gradient"
    parameters = {
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="rows per forward/backward"),
    }

    @classmethod
    def unavailable(cls, module: torch.nn.Module | None) -> str | None:
        return without_relus(module)

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        return guided_gradients(
            view, points, target, self.params["internal_batch_size"], self.name
        )
