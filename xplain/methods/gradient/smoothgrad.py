"""Smooth: a noise wrapper over any gradient method (SmoothGrad, Smooth IG...)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import SEED_SEQUENCE, Interval, Options, Param
from xplain.errors import InvalidParameterError
from xplain.methods.base import GradientMethod, Method
from xplain.methods.gradient._budget import check_noise, rows_per_chunk
from xplain.registry import get_method, register_method
from xplain.views import DifferentiableView

VARIANTS = ("smoothgrad", "smoothgrad_sq", "vargrad")
NOISE_PARAMETERS = {
    "noise_samples": Param(25, Interval(int, 1), doc="noisy copies of the input"),
    "noise_std": Param(
        0.15,
        Interval(float, 0, None),
        doc="noise std as a fraction of the view's noise_scale",
    ),
    "variant": Param("smoothgrad", Options(VARIANTS), doc="mean, mean of squares, or variance"),
    "noise_batch_size": Param(None, Interval(int, 1), Options((None,)), doc="copies per call"),
    "seed": Param(0, SEED_SEQUENCE, doc="seed of the noise (None: not reproducible)"),
}
NOISE = NOISE_PARAMETERS.keys()


class Smooth(GradientMethod):
    """Average a gradient method over Gaussian-noised copies of the input.

    ``Smooth(IntegratedGradients(n_steps=32), noise_samples=10)`` wraps any gradient
    method object, as Captum's NoiseTunnel does: Smilkov, Thorat, Kim, Viégas and
    Wattenberg (2017), "SmoothGrad: removing noise by adding noise" (arXiv:1706.03825),
    which also names Smooth IG (Sec. 5); ``vargrad`` is the variance of Adebayo et al.
    (2018). Registered as ``smoothgrad`` over saliency (:class:`SmoothGrad`); the keyword
    sugar ``explain(x, "integrated_gradients", noise_samples=10)`` builds the same wrapper.

    Parameters: ``noise_samples`` noisy copies; ``noise_std`` the noise's standard
    deviation as a fraction of the view's ``noise_scale``, which the adapter sets: the
    input range (max - min) for images, as in Smilkov et al.; the token embeddings'
    standard deviation per hidden dimension for text; each input column's standard
    deviation over the background for tabular models, in the network's units (see
    :class:`~xplain.adapters.base.DifferentiableView`); ``variant`` the statistic (mean,
    mean of squares, variance); ``noise_batch_size`` copies per call; ``seed`` the seed of
    ``np.random.Generator`` that draws the noise. A parameter that the wrapped method also
    declares (``seed`` of gradient_shap) takes one value for both.

    All noisy copies go through the wrapped method in one batched call, or
    ``noise_batch_size`` copies at a time, or as many as fit in one array of
    ``xplain.limits``' ``max_memory_bytes`` (the noise is the same whatever the blocks). A
    call planning more model rows than ``max_model_rows`` (``noise_samples`` times the
    wrapped method's) is refused before any model call. The wrapped method's diagnostics
    are kept (the worst over the copies) except ``delta`` and ``base_value``: the values
    are a statistic over noisy inputs, not attributions of one input that add up to a
    difference. ``params`` records ``base`` (the wrapped method's name), the noise
    parameters and the wrapped method's parameters.

    Args:
        method: The gradient method object to wrap (an instance, not a class, and not
            itself a Smooth).
        **noise: The noise parameters above (``noise_samples``, ``noise_std``,
            ``variant``, ``noise_batch_size``, ``seed``).

    Raises:
        InvalidParameterError: ``method`` is a class, not a gradient method, already
            smoothed, or shares a parameter with a different value.
    """

    name: ClassVar[str] = "smoothgrad"
    reference: ClassVar[str] = "Smilkov et al. 2017, arXiv:1706.03825"
    parameters = NOISE_PARAMETERS

    def __init__(self, method: GradientMethod, **noise: Any) -> None:
        if isinstance(method, type) and issubclass(method, Method):
            raise InvalidParameterError(
                f"Smooth wraps a method object, not a class: pass {method.__name__}() (with "
                f"its parameters) instead of {method.__name__}."
            )
        if not isinstance(method, GradientMethod):
            raise InvalidParameterError(
                "Smooth wraps a gradient method object, e.g. "
                f"Smooth(IntegratedGradients(n_steps=32)). Got {method!r}."
            )
        if isinstance(method, Smooth):
            raise InvalidParameterError(
                f"{method!r} is already smoothed; wrap the method inside it instead."
            )
        given = list(noise)
        for key in NOISE_PARAMETERS.keys() & method.parameters.keys():
            # the Explanation records one value per name, so both must use the same
            value = method.params[key]
            if key in noise and noise[key] != value:
                raise InvalidParameterError(
                    f"Smooth and {method.name} both have a {key!r} parameter, and an "
                    f"explanation records one value: set the same on both, e.g. "
                    f"Smooth({type(method).__name__}({key}={noise[key]!r}), "
                    f"{key}={noise[key]!r}). Got {noise[key]!r} and {value!r}."
                )
            noise[key] = value
        super().__init__(**noise)
        self.base = method
        self._shown = [key for key in NOISE_PARAMETERS if key in given]
        self.params = {"base": method.name, **self.params, **method.params}

    def __repr__(self) -> str:
        noise = "".join(f", {key}={self.params[key]!r}" for key in self._shown)
        return f"Smooth({self.base!r}{noise})"

    @property
    def signed(self) -> bool:
        # the mean keeps the wrapped method's sign; a mean of squares or a variance is >= 0
        return self.base.signed and self.params["variant"] == "smoothgrad"

    def budget_fix(self) -> str:
        own = self.base.budget_fix()
        return "lower noise_samples" + (f" (or {own} of {self.base.name})" if own else "")

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        """The wrapped method's rows for each block of noisy copies.

        Args:
            view: The view to be attributed.
            n_points: The number of input points, each with ``noise_samples`` copies.
        """
        block = self._block(view.inputs[0], n_points)
        full, rest = divmod(self.params["noise_samples"], block)
        last = self.base.planned_rows(view, rest * n_points) if rest else 0
        return full * self.base.planned_rows(view, block * n_points) + last

    def _block(self, row: torch.Tensor, n_points: int) -> int:
        """Copies drawn and attributed together: as many as fit in one array within
        ``xplain.limits``, at most ``noise_batch_size``."""
        n = self.params["noise_samples"]
        return min(max(1, rows_per_chunk(row) // n_points), self.params["noise_batch_size"] or n)

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        # std: a scalar, or [1, *S] when the view's scale is per dimension
        scale = torch.as_tensor(view.noise_scale, dtype=points.dtype, device=points.device)
        std = self.params["noise_std"] * scale
        largest = float(std.abs().max())
        check_noise(self.name, "noise_std", self.params["noise_std"], largest, points.dtype)
        rng = np.random.default_rng(self.params["seed"])
        shape = points.shape[1:]
        moments, diagnostics = _Moments(self.params["variant"]), {}
        n, block = self.params["noise_samples"], self._block(points[0], points.shape[0])
        for start in range(0, n, block):  # numpy draws the same noise whatever the blocks
            count = min(block, n - start)
            # noise [count, N, *S], sample-major as in Captum's NoiseTunnel
            noise = torch.as_tensor(rng.standard_normal((count, *points.shape)))
            noisy = points.unsqueeze(0) + noise.to(points) * std
            part, diag = self.base.attribute_points(view, noisy.reshape(-1, *shape), target)
            moments.add(part.view(count, *points.shape))
            diagnostics = _worst(diagnostics, diag)
        # the values are a statistic over noisy inputs: no difference f(x) - f(reference)
        # they would add up to, nor a reference score of their own
        for key in ("delta", "base_value"):
            diagnostics.pop(key, None)
        shown = float(std) if std.ndim == 0 else std.reshape(-1).tolist()
        return moments.result(), {**diagnostics, "noise_std_abs": shown}


@register_method
class SmoothGrad(Smooth):
    """SmoothGrad by name: :class:`Smooth` over the gradient method registered as ``base``.

    ``SmoothGrad(base="integrated_gradients", n_steps=8, noise_samples=10)`` is
    ``Smooth(IntegratedGradients(n_steps=8), noise_samples=10)``: the noise parameters go
    to the wrapper, the others to the wrapped method. Smilkov et al. 2017 (see ``Smooth``).
    """

    def __init__(self, base: str | None = None, **params: Any) -> None:
        self._base_given = base is not None  # for the repr: what the user set
        base = "saliency" if base is None else base
        base_cls = get_method(base)
        if not issubclass(base_cls, GradientMethod) or issubclass(base_cls, Smooth):
            raise InvalidParameterError(
                f"The 'base' parameter of smoothgrad must name a gradient method other than "
                f"smoothgrad. Got {base!r}."
            )
        own = base_cls.parameters  # a shared name (``seed``) goes to the base method too
        method = base_cls(**{k: v for k, v in params.items() if k in own or k not in NOISE})
        super().__init__(method, **{k: v for k, v in params.items() if k in NOISE})

    def __repr__(self) -> str:
        inner = repr(self.base)[len(type(self.base).__name__) + 1 : -1]
        shown = [f"base={self.base.name!r}"] if self._base_given else []
        shown += [inner] if inner else []
        shown += [f"{key}={self.params[key]!r}" for key in self._shown]
        return f"SmoothGrad({', '.join(shown)})"


class _Moments:
    """Running mean of attributions (or of their squares), or their variance, over the
    noisy copies, fed ``[c, N, *S]`` copies at a time (Chan, Golub and LeVeque 1979's
    pairwise update for the variance)."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.count = 0
        self.mean: torch.Tensor | None = None  # [N, *S]
        self.m2: torch.Tensor | None = None  # [N, *S] sum of squared deviations (vargrad)

    def add(self, copies: torch.Tensor) -> None:
        values = copies**2 if self.variant == "smoothgrad_sq" else copies
        count, mean = values.shape[0], values.mean(0)
        m2 = ((values - mean) ** 2).sum(0) if self.variant == "vargrad" else None
        if self.mean is None:
            self.count, self.mean, self.m2 = count, mean, m2
            return
        total = self.count + count
        shift = mean - self.mean
        self.mean = self.mean + shift * (count / total)
        if self.m2 is not None and m2 is not None:
            self.m2 = self.m2 + m2 + shift**2 * (self.count * count / total)
        self.count = total

    def result(self) -> torch.Tensor:
        assert self.mean is not None  # noise_samples >= 1
        if self.variant == "vargrad":
            assert self.m2 is not None
            return self.m2 / self.count
        return self.mean


def _worst(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Merge diagnostics of successive chunks, keeping the largest number per key."""
    merged = dict(new)
    for key, value in old.items():
        if isinstance(value, int | float) and isinstance(merged.get(key), int | float):
            merged[key] = max(value, merged[key])
    return merged
