"""Vanilla gradient (saliency) maps."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import BOOLEAN, NONE, Interval, Param
from xplain.methods.base import GradientMethod, gradients
from xplain.registry import register_method
from xplain.views import DifferentiableView


@register_method
class Saliency(GradientMethod):
    """The gradient of the target score with respect to the input.

    Simonyan, Vedaldi and Zisserman (2014), "Deep Inside Convolutional Networks:
    Visualising Image Classification Models and Saliency Maps". ``absolute=True`` takes
    the magnitude, as in the paper; ``False`` keeps the sign.
    """

    name: ClassVar[str] = "saliency"
    reference: ClassVar[str] = "Simonyan et al. 2014, arXiv:1312.6034"
    known_truth: ClassVar[str | None] = "gradient"
    parameters = {
        "absolute": Param(True, BOOLEAN, doc="take |gradient| (the paper) or keep its sign"),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
    }

    @property
    def signed(self) -> bool:
        return not self.params["absolute"]  # |gradient| is a magnitude

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        grad = gradients(view, points, target, self.params["internal_batch_size"])
        return (grad.abs() if self.params["absolute"] else grad), {}
