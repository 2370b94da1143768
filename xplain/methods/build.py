"""Turn a method name and keyword parameters into a configured method object."""

from __future__ import annotations

from typing import Any

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
    wants_noise = any(key in NOISE_PARAMETERS for key in params)
    if wants_noise and cls is not SmoothGrad and issubclass(cls, GradientMethod):
        return SmoothGrad(base=name, **params)
    return cls(**params)
