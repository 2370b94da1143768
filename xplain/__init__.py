"""xplain: explain text, tabular and image models with gradient and perturbation methods.

>>> import xplain
>>> ex = xplain.Explainer(model, tokenizer=tokenizer)
>>> ex.explain("a gripping, funny film", method="integrated_gradients")
"""

from __future__ import annotations

import importlib
from typing import Any

from xplain import adapters, limits, metrics
from xplain._version import __version__
from xplain.comparison import Comparison
from xplain.errors import (
    DatasetOutputError,
    InvalidInputError,
    InvalidParameterError,
    InvalidTargetError,
    MethodCheckError,
    MethodNotApplicableError,
    MissingDependencyError,
    ModelOutputError,
    PartitionsFailedError,
    ResourceLimitError,
    RowError,
    UndefinedMeasureWarning,
    UnknownMethodError,
    UntrustedCodeError,
    XplainError,
    XplainWarning,
)
from xplain.explainer import Explainer
from xplain.explanation import Explanation
from xplain.methods import (  # importing xplain.methods registers the built-in methods
    GradientMethod,
    Method,
    PerturbationMethod,
)
from xplain.registry import available_methods, register_method

__all__ = [
    "__version__",
    "Comparison",
    "DatasetOutputError",
    "Explainer",
    "Explanation",
    "GradientMethod",
    "InvalidInputError",
    "InvalidParameterError",
    "InvalidTargetError",
    "Method",
    "MethodCheckError",
    "MethodNotApplicableError",
    "MissingDependencyError",
    "ModelOutputError",
    "PartitionsFailedError",
    "PerturbationMethod",
    "ResourceLimitError",
    "RowError",
    "UndefinedMeasureWarning",
    "UnknownMethodError",
    "UntrustedCodeError",
    "XplainError",
    "XplainWarning",
    "adapters",
    "available_methods",
    "explain",
    "extend",
    "limits",
    "metrics",
    "open_dataset",
    "register_method",
    "testing",
]

# imported on first use: plugin authors' modules, not needed to explain anything
_LAZY_MODULES = ("extend", "testing")


def __getattr__(name: str) -> Any:
    if name == "open_dataset":  # pyarrow is imported only by those who read datasets
        from xplain.scale.dataset import open_dataset

        return open_dataset
    if name in _LAZY_MODULES:
        return importlib.import_module(f"xplain.{name}")
    raise AttributeError(f"module 'xplain' has no attribute {name!r}")


def explain(
    model: Any,
    instance: Any,
    method: str | None = None,
    *,
    target: int | str | None = None,
    tokenizer: Any = None,
    data: Any = None,
    modality: str | None = None,
    **params: Any,
) -> Explanation:
    """One-call shortcut: ``Explainer(model, ...).explain(instance, method, ...)``."""
    explainer = Explainer(model, tokenizer=tokenizer, data=data, modality=modality)
    return explainer.explain(instance, method, target, **params)
