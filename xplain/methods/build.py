"""Turn a method name and keyword parameters into a configured method object."""

from __future__ import annotations

from typing import Any

from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError
from xplain.methods.base import GradientMethod, Method
from xplain.methods.gradient.smoothgrad import NOISE_PARAMETERS, SmoothGrad
from xplain.registry import get_method


def build_method(name: str, params: dict[str, Any]) -> Method:
    """The method registered as ``name`` with ``params``.

    Any gradient method given a noise parameter (``noise_samples=``, ``noise_std=``...)
    is wrapped in SmoothGrad, so ``integrated_gradients`` with ``noise_samples=10`` is
    Smooth IG.
    """
    cls = get_method(name)
    if issubclass(cls, GradientMethod):
        _check_gradient_names(name, cls, params)
    # a name the method declares itself (deepshap's and gradient_shap's ``seed``) is its own
    wants_noise = any(key in NOISE_PARAMETERS and key not in cls.parameters for key in params)
    if wants_noise and cls is not SmoothGrad and issubclass(cls, GradientMethod):
        return SmoothGrad(base=name, **params)
    return cls(**params)


def _check_gradient_names(name: str, cls: type[Method], params: dict[str, Any]) -> None:
    """Reject unknown names, suggesting from the method's and the noise wrapper's names."""
    allowed = {*cls.parameters, *NOISE_PARAMETERS}
    if cls is SmoothGrad:
        allowed |= {"base", *get_method(params.get("base", "saliency")).parameters}
    unknown = [key for key in params if key not in allowed]
    if unknown:
        raise InvalidParameterError(
            f"{name} got an unexpected parameter {unknown[0]!r}."
            f"{did_you_mean(unknown[0], allowed)} Allowed parameters: "
            f"{', '.join(sorted(allowed))}."
        )
