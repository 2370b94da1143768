"""Grad-CAM: class activation maps weighted by the gradients at a convolutional layer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from xplain._validation import BOOLEAN, NONE, InstanceOf, Interval, Options, Param, did_you_mean
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods.base import GradientMethod
from xplain.methods.gradient._hooks import forward_hooks
from xplain.registry import register_method
from xplain.views import DifferentiableView, SpatialDifferentiableView, View

INTERPOLATIONS = ("bilinear", "bicubic", "nearest")
LAYER = Param(
    None,
    NONE,
    InstanceOf((str,), "a module name such as 'features.3'"),
    doc="layer whose feature maps are weighted (None: the last Conv2d called)",
)
INTERPOLATION = Param("bilinear", Options(INTERPOLATIONS), doc="upsampling to the input size")
BATCH = Param(None, Interval(int, 1), NONE, doc="rows per forward/backward")


@register_method
class GradCam(GradientMethod):
    """Feature maps of a convolutional layer weighted by their average gradient.

    Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra (2017), "Grad-CAM: Visual
    Explanations from Deep Networks via Gradient-based Localization" (ICCV). With ``A^k``
    the ``K`` feature maps ``[K, h, w]`` of ``layer`` and ``y`` the explained score,
    ``alpha_k = mean_ij dy / dA^k_ij`` and the map is ``ReLU(sum_k alpha_k A^k)`` (``relu=
    False`` keeps negative evidence), upsampled to the input's ``H x W`` (bilinear, as
    Captum's ``LayerAttribution.interpolate``, ``align_corners=False``).

    ``layer`` names a module (``dict(model.named_modules())`` keys) whose output is a
    feature map ``[N, K, h, w]``; by default the last ``nn.Conv2d`` the forward pass calls
    (name one explicitly to use, e.g., the ReLU after it). The map has no channel axis: it
    is returned in the first input channel (the others are 0), so every channel aggregation
    of the image adapter returns it unchanged (``l2``: its magnitude).
    """

    name: ClassVar[str] = "grad_cam"
    view: ClassVar[type[View] | str] = SpatialDifferentiableView  # needs the image layout
    reference: ClassVar[str] = "Selvaraju et al. 2017, arXiv:1610.02391"
    parameters = {
        "layer": LAYER,
        "relu": Param(True, BOOLEAN, doc="keep only positive evidence (the paper)"),
        "interpolation": INTERPOLATION,
        "internal_batch_size": BATCH,
    }

    @property
    def signed(self) -> bool:
        return not self.params["relu"]  # ReLU(sum_k alpha_k A^k) >= 0

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        maps, layer = grad_cam_maps(
            view,
            points,
            target,
            self.params["layer"],
            self.params["relu"],
            self.params["interpolation"],
            self.params["internal_batch_size"],
            self.name,
        )
        return in_first_channel(maps, points.shape[1]), {"layer": layer}


def grad_cam_maps(
    view: DifferentiableView,
    points: torch.Tensor,
    target: int,
    layer: str | None,
    relu: bool,
    interpolation: str,
    batch_size: int | None,
    method: str,
) -> tuple[torch.Tensor, str]:
    """Grad-CAM maps (ReLU first if ``relu``), upsampled: ``[N, C, H, W]`` -> ``[N, 1, H, W]``."""
    module = view.module
    if module is None:
        raise MethodNotApplicableError(
            f"{method} reads the feature maps of a layer inside the model; this view has no "
            "torch module (view.module is None)."
        )
    candidates = _candidates(module, layer, method)  # name -> module, in definition order
    step = batch_size or points.shape[0]
    maps, used = [], ""
    for start in range(0, points.shape[0], step):
        chunk = points[start : start + step].detach().requires_grad_(True)
        with torch.enable_grad(), _recording(candidates) as calls:
            scores = view.forward(chunk)[:, target]  # [n]
        used, acts = _last_call(calls, layer, method)  # [n, K, h, w]
        (grads,) = torch.autograd.grad(scores.sum(), acts, allow_unused=True)
        grads = torch.zeros_like(acts) if grads is None else grads
        alpha = grads.mean(dim=(2, 3), keepdim=True)  # [n, K, 1, 1]
        cam = (alpha * acts).sum(1, keepdim=True).detach()  # [n, 1, h, w]
        cam = F.relu(cam) if relu else cam
        maps.append(_upsample(cam, tuple(points.shape[-2:]), interpolation).to(points.device))
    return torch.cat(maps), used


def in_first_channel(maps: torch.Tensor, channels: int) -> torch.Tensor:
    """Per-pixel maps ``[N, 1, H, W]`` as attributions ``[N, C, H, W]`` (channel 0; rest 0)."""
    if channels == 1:
        return maps
    return torch.cat([maps, maps.new_zeros((maps.shape[0], channels - 1, *maps.shape[2:]))], 1)


def _upsample(cam: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    corners = None if mode == "nearest" else False
    return F.interpolate(cam, size=size, mode=mode, align_corners=corners)


def _candidates(module: torch.nn.Module, layer: str | None, method: str) -> dict[str, Any]:
    """The module named ``layer``, or every ``nn.Conv2d`` when ``layer`` is None."""
    named = dict(module.named_modules())
    convs = {n: m for n, m in named.items() if isinstance(m, torch.nn.Conv2d)}
    if layer is None:
        if not convs:
            raise MethodNotApplicableError(
                f"{method} needs a convolutional layer (torch.nn.Conv2d) and "
                f"{type(module).__name__} has none; name a layer whose output is a feature "
                "map [N, K, h, w] with layer='...', or use a method such as "
                "integrated_gradients."
            )
        return convs
    if layer not in named or layer == "":
        listed = ", ".join(repr(n) for n in convs) or "none"
        raise InvalidParameterError(
            f"The 'layer' parameter of {method} must name a module of the model. Got "
            f"{layer!r}.{did_you_mean(layer, [n for n in named if n])} Convolutional layers: "
            f"{listed}."
        )
    return {layer: named[layer]}


@contextmanager
def _recording(modules: dict[str, Any]) -> Iterator[list[tuple[str, Any]]]:
    """Record ``(name, output)`` of each call of ``modules`` in call order, in this thread's
    forward passes only (not those of other threads explaining the model); hooks removed
    after."""
    calls: list[tuple[str, Any]] = []
    hooks = [
        (module, None, lambda _m, _args, out, name=name: calls.append((name, out)))
        for name, module in modules.items()
    ]
    with forward_hooks(hooks):
        yield calls


def _last_call(
    calls: list[tuple[str, Any]], layer: str | None, method: str
) -> tuple[str, torch.Tensor]:
    if not calls:
        which = f"layer {layer!r}" if layer else "any convolutional layer"
        raise MethodNotApplicableError(
            f"{method}: the model's forward pass never called {which}; name a layer that "
            "the forward pass uses with layer='...'."
        )
    name, out = calls[-1]
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InvalidParameterError(
            f"The 'layer' parameter of {method} must name a layer whose output is a feature "
            f"map [N, K, h, w]. Got {name!r}, whose output is {shape}."
        )
    return name, out
