"""Gradient x input."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import NONE, Interval, Param
from xplain.methods.base import GradientMethod, gradients
from xplain.registry import register_method
from xplain.views import DifferentiableView


@register_method
class InputXGradient(GradientMethod):
    """The input multiplied element-wise by the gradient of the target score.

    Shrikumar, Greenside, Shcherbina and Kundaje (2016), "Not Just a Black Box: Learning
    Important Features Through Propagating Activation Differences" (arXiv:1605.01713).
    """

    name: ClassVar[str] = "input_x_gradient"
    reference: ClassVar[str] = "Shrikumar et al. 2016, arXiv:1605.01713"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
    }

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        grad = gradients(view, points, target, self.params["internal_batch_size"])
        return points.detach() * grad, {}
