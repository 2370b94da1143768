"""xplain: explain text, tabular and image models with gradient and perturbation methods.

>>> import xplain
>>> ex = xplain.Explainer(model, tokenizer=tokenizer)
>>> ex.explain("a gripping, funny film", method="integrated_gradients")
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from xplain._version import __version__
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

if "ipykernel.zmqshell" in sys.modules:  # in Jupyter, before transformers imports tqdm.auto
    from xplain._progress import import_tqdm_auto

    import_tqdm_auto()  # no "TqdmWarning: IProgress not found" where ipywidgets is missing

if TYPE_CHECKING:
    from xplain.explanation import Explanation

__all__ = [
    "__version__",
    "Comparison",
    "DatasetOutputError",
    "Explainer",
    "Explanation",
    "Explanations",
    "GradientMethod",
    "InvalidInputError",
    "InvalidParameterError",
    "InvalidTargetError",
    "LayerAttribution",
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
    "certify",
    "explain",
    "extend",
    "internal_influence",
    "layer_conductance",
    "limits",
    "metrics",
    "neuron_conductance",
    "open_dataset",
    "plot",
    "register_method",
    "testing",
]

# Public names imported on first use (PEP 562), so that ``import xplain`` (and the
# ``xplain`` command's --help, errors and method listing) loads neither torch nor pandas:
# name -> (module, attribute in it; None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "Comparison": ("xplain.comparison", "Comparison"),
    "Explainer": ("xplain.explainer", "Explainer"),
    "Explanation": ("xplain.explanation", "Explanation"),
    "Explanations": ("xplain.explanations", "Explanations"),
    "LayerAttribution": ("xplain.internal", "LayerAttribution"),
    "internal_influence": ("xplain.internal", "internal_influence"),
    "layer_conductance": ("xplain.internal", "layer_conductance"),
    "neuron_conductance": ("xplain.internal", "neuron_conductance"),
    "GradientMethod": ("xplain.methods", "GradientMethod"),
    "Method": ("xplain.methods", "Method"),
    "PerturbationMethod": ("xplain.methods", "PerturbationMethod"),
    "available_methods": ("xplain.registry", "available_methods"),
    "certify": ("xplain.certification", "certify"),
    "register_method": ("xplain.registry", "register_method"),
    "open_dataset": ("xplain.scale.dataset", "open_dataset"),  # pyarrow only for datasets
    "adapters": ("xplain.adapters", None),
    "extend": ("xplain.extend", None),
    "limits": ("xplain.limits", None),
    "metrics": ("xplain.metrics", None),
    "plot": ("xplain.plot", None),
    "testing": ("xplain.testing", None),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        # a submodule (xplain.views, xplain.registry...): attributes of the package while
        # ``import xplain`` imported them all, so code reaching them that way still works
        if name.isidentifier() and not name.startswith("_") and importlib.util.find_spec(
            f"xplain.{name}"
        ):
            return importlib.import_module(f"xplain.{name}")
        raise AttributeError(f"module 'xplain' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
    """One-call shortcut: ``Explainer(model, ...).explain(instance, method, ...)``.

    Args:
        model: The model, as for :class:`Explainer`.
        instance: What to explain (see :meth:`Explainer.explain`).
        method: A registered method name (``xplain.available_methods()``) or None.
        target: The class explained: None (predicted), an index or a label.
        tokenizer: A text model's tokenizer.
        data: Background rows of a tabular model.
        modality: ``"text"``, ``"tabular"`` or ``"image"``; None: chosen from the model.
        **params: The method's parameters.

    Returns:
        Explanation: as :meth:`Explainer.explain` returns it.
    """
    from xplain.explainer import Explainer

    explainer = Explainer(model, tokenizer=tokenizer, data=data, modality=modality)
    return explainer.explain(instance, method, target, **params)
