"""Guided Grad-CAM: guided backpropagation masked by the Grad-CAM map."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain.methods.base import GradientMethod
from xplain.methods.gradient._guided import guided_gradients, without_relus
from xplain.methods.gradient.grad_cam import BATCH, INTERPOLATION, LAYER, grad_cam_maps
from xplain.registry import register_method
from xplain.views import DifferentiableView, SpatialDifferentiableView, View


@register_method
class GuidedGradCam(GradientMethod):
    """Guided backpropagation times the upsampled Grad-CAM map, pixel by pixel.

    Selvaraju et al. (2017), "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization" (ICCV), Sec. 3.1: the class-discriminative Grad-CAM map
    (with its ReLU) multiplies the high-resolution guided backpropagation
    (Springenberg et al. 2015) of every channel. ``layer`` and ``interpolation`` are those
    of :class:`~xplain.methods.gradient.grad_cam.GradCam` (Captum's ``GuidedGradCam``
    upsamples with ``interpolate_mode="nearest"`` by default; the paper and this default
    use bilinear).
    """

    name: ClassVar[str] = "guided_grad_cam"
    view: ClassVar[type[View] | str] = SpatialDifferentiableView  # needs the image layout
    reference: ClassVar[str] = "Selvaraju et al. 2017, arXiv:1610.02391"
    parameters = {
        "layer": LAYER,
        "interpolation": INTERPOLATION,
        "internal_batch_size": BATCH,
    }

    @classmethod
    def unavailable(cls, module: torch.nn.Module | None) -> str | None:
        return without_relus(module)

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        batch = self.params["internal_batch_size"]
        maps, layer = grad_cam_maps(
            view,
            points,
            target,
            self.params["layer"],
            True,
            self.params["interpolation"],
            batch,
            self.name,
        )  # [N, 1, H, W]
        guided, diagnostics = guided_gradients(view, points, target, batch, self.name)
        return guided * maps, {"layer": layer, **diagnostics}  # [N, C, H, W]
