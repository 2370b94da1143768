"""Turn a method name and keyword parameters into a configured method object."""

from __future__ import annotations

from typing import Any

from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError
from xplain.methods.base import GradientMethod, Method
from xplain.methods.gradient.smoothgrad import NOISE_PARAMETERS, Smooth
from xplain.registry import get_method


def build_method(name: str, params: dict[str, Any]) -> Method:
    """The method registered as ``name`` with ``params``.

    Keyword sugar for :class:`~xplain.methods.Smooth`: a gradient method given a noise
    parameter (``noise_samples=``, ``noise_std=``...) is wrapped in ``Smooth``, so
    ``integrated_gradients`` with ``noise_samples=10`` is
    ``Smooth(IntegratedGradients(), noise_samples=10)`` (Smooth IG). ``base``, which a
    smoothed method's Explanation records, may name the method itself; so
    ``build_method(e.method, e.params)`` rebuilds the method of any Explanation.
    """
    cls = get_method(name)
    if not issubclass(cls, GradientMethod):
        return cls(**params)
    _check_gradient_names(name, cls, params)
    # ``smoothgrad`` builds its own wrapper; a name the method declares itself (deepshap's
    # and gradient_shap's ``seed``) is its own, not the noise's
    if issubclass(cls, Smooth) or all(key in cls.parameters for key in params):
        return cls(**params)
    if params.get("base", name) != name:
        raise InvalidParameterError(
            f"The 'base' parameter names the method that noise is added to; with "
            f"method={name!r} it can only be {name!r}. Got {params['base']!r}. To smooth "
            f"{params['base']}, pass method={params['base']!r} with noise parameters, or "
            f"method='smoothgrad', base={params['base']!r}."
        )
    own = {key: value for key, value in params.items() if key in cls.parameters}
    noise = {key: value for key, value in params.items() if key in NOISE_PARAMETERS}
    return Smooth(cls(**own), **noise)


def _check_gradient_names(name: str, cls: type[Method], params: dict[str, Any]) -> None:
    """Reject unknown names, suggesting from the method's and the noise wrapper's names."""
    allowed = {*cls.parameters, *NOISE_PARAMETERS, "base"}
    if issubclass(cls, Smooth):
        allowed |= set(get_method(params.get("base") or "saliency").parameters)
    unknown = [key for key in params if key not in allowed]
    if unknown:
        raise InvalidParameterError(
            f"{name} got an unexpected parameter {unknown[0]!r}."
            f"{did_you_mean(unknown[0], allowed)} Allowed parameters: "
            f"{', '.join(sorted(allowed))}."
        )
