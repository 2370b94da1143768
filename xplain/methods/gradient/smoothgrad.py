"""SmoothGrad: a noise wrapper over any gradient method."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import SEED, Interval, Options, Param
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError
from xplain.methods.base import Attribution, GradientMethod
from xplain.registry import get_method, register_method

VARIANTS = ("smoothgrad", "smoothgrad_sq", "vargrad")
NOISE_PARAMETERS = {
    "noise_samples": Param(25, Interval(int, 1), doc="noisy copies of the input"),
    "noise_std": Param(
        0.15, Interval(float, 0, None), doc="noise std as a fraction of the input's range"
    ),
    "variant": Param("smoothgrad", Options(VARIANTS), doc="mean, mean of squares, or variance"),
    "noise_batch_size": Param(None, Interval(int, 1), Options((None,)), doc="copies per call"),
    "seed": Param(0, SEED, doc="seed of the noise (None: not reproducible)"),
}


@register_method
class SmoothGrad(GradientMethod):
    """Average a gradient method over Gaussian-noised copies of the input.

    Smilkov, Thorat, Kim, Viégas and Wattenberg (2017), "SmoothGrad: removing noise by
    adding noise" (arXiv:1706.03825); ``vargrad`` is the variance of Adebayo et al. (2018).
    The noise std is ``noise_std * (max(x) - min(x))``. Wrapping Integrated Gradients
    gives "Smooth IG" (Smilkov 2017, Sec. 5). All noisy copies go through the wrapped
    method in one batched call (or ``noise_batch_size`` copies at a time).
    """

    name: ClassVar[str] = "smoothgrad"
    reference: ClassVar[str] = "Smilkov et al. 2017, arXiv:1706.03825"
    parameters = NOISE_PARAMETERS

    def __init__(self, base: str = "saliency", **params: Any) -> None:
        noise = {k: v for k, v in params.items() if k in NOISE_PARAMETERS}
        super().__init__(**noise)
        base_cls = get_method(base)
        if not issubclass(base_cls, GradientMethod) or base_cls is SmoothGrad:
            raise InvalidParameterError(
                f"The 'base' parameter of smoothgrad must name a gradient method other than "
                f"smoothgrad. Got {base!r}."
            )
        own = base_cls.parameters  # a shared name (``seed``) goes to the base method too
        self.base = base_cls(
            **{k: v for k, v in params.items() if k not in NOISE_PARAMETERS or k in own}
        )
        self.params = {"base": base, **self.params, **self.base.params}

    def __repr__(self) -> str:
        return f"SmoothGrad(base={self.base!r}, noise_samples={self.params['noise_samples']})"

    def attribute(self, view: DifferentiableView, target: int) -> Attribution:
        values, diagnostics = self.attribute_points(view, view.inputs, target)
        return Attribution(values[0], diagnostics)

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        n = self.params["noise_samples"]
        std = self.params["noise_std"] * view.input_range
        generator = torch.Generator()
        if self.params["seed"] is None:
            generator.seed()
        else:
            generator.manual_seed(self.params["seed"])
        shape = points.shape[1:]
        # noise for every point: [n, N, *S], sample-major as in Captum's NoiseTunnel
        noise = torch.randn((n, *points.shape), generator=generator, dtype=points.dtype) * std
        noisy = (points.unsqueeze(0) + noise).reshape(-1, *shape)
        chunk = (self.params["noise_batch_size"] or n) * points.shape[0]
        parts, diagnostics = [], {}
        for start in range(0, noisy.shape[0], chunk):
            part, diag = self.base.attribute_points(view, noisy[start : start + chunk], target)
            parts.append(part)
            diagnostics = _worst(diagnostics, diag)
        attr = torch.cat(parts).view(n, *points.shape)
        variant = self.params["variant"]
        if variant == "smoothgrad":
            out = attr.mean(0)
        elif variant == "smoothgrad_sq":
            out = (attr**2).mean(0)
        else:
            out = attr.var(0, unbiased=False)
        return out, {**diagnostics, "noise_std_abs": std}


def _worst(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Merge diagnostics of successive chunks, keeping the largest number per key."""
    merged = dict(new)
    for key, value in old.items():
        if isinstance(value, int | float) and isinstance(merged.get(key), int | float):
            merged[key] = max(value, merged[key])
    return merged
