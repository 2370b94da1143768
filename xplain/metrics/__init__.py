"""Evaluation metrics for explanations: faithfulness, robustness, sanity, agreement, ROAR.

Each metric is a plain function of ``(explainer, explanation, **params)`` that keeps no
state and returns a number (or, for curves and sanity checks, a small pandas object).
They work on any adapter through its views. ``METRICS`` holds what a program needs to know
about each (Quantus-style): whether higher is better, what it needs (``requires``), what it
returns and the paper; :func:`available_metrics` shows it as a table.

>>> from xplain import metrics
>>> metrics.deletion_auc(explainer, explanation)
>>> metrics.METRICS["deletion_auc"].higher_is_better
False
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pandas as pd

from xplain._validation import did_you_mean
from xplain.certification import certified_radius
from xplain.errors import InvalidParameterError
from xplain.metrics.agreement import agreement_frame, rank_agreement
from xplain.metrics.confidence import (
    average_drop,
    confidence_frame,
    confidence_summary,
    increase_in_confidence,
)
from xplain.metrics.faithfulness import (
    completeness_gap,
    comprehensiveness,
    comprehensiveness_curve,
    deletion_auc,
    deletion_curve,
    faithfulness_correlation,
    infidelity,
    insertion_auc,
    insertion_curve,
    sufficiency,
    sufficiency_curve,
)
from xplain.metrics.localisation import (
    localisation_iou,
    pointing_game,
    relevance_mass_accuracy,
    relevance_rank_accuracy,
)
from xplain.metrics.plausibility import (
    auprc,
    iou_f1,
    plausibility,
    token_f1,
    token_precision,
    token_recall,
)
from xplain.metrics.roar import remove_and_retrain
from xplain.metrics.robustness import max_sensitivity
from xplain.metrics.sanity import layer_groups, model_parameter_randomisation

# what a metric needs (MetricInfo.requires)
EXPLAINER = "explainer"  # the Explainer (model + adapter) of the explanation; re-runs the model
TORCH_MODULE = "torch_module"  # the explainer's model is a torch module (its layers are reset)
EXPLANATIONS = "explanations"  # two explanations of one prediction; no model call
REFITTABLE_MODEL = "refittable_model"  # an unfitted-cloneable scikit-learn estimator
RATIONALE = "rationale"  # a human rationale, passed as rationale= (spans or 0/1 mask)
GROUND_TRUTH = "ground_truth"  # the object's box or mask in an image, passed as box= or mask=
TABLE = "table"  # a numeric table X with its targets y to refit the model on


@dataclass(frozen=True)
class MetricInfo:
    """What a program can read about a metric.

    ``returns`` is ``"scalar"`` (a function of ``(explainer, explanation)`` usable in
    ``Comparison.evaluate``), ``"frame"`` or ``"dict"``; ``curve`` is the function giving
    the per-step (or per-k) values a scalar summarises, if any.
    ``higher_is_better`` is None where neither direction is better (sanity checks read
    their frame: low similarity passes). ``requires`` says what the metric needs, never a
    modality: ``"explainer"`` (the explanation's Explainer, whose model it re-runs through
    the adapter's views, so any adapter), ``"torch_module"``, ``"explanations"`` (two
    explanations of one prediction), ``"refittable_model"`` and ``"table"`` (ROAR refits
    a scikit-learn estimator on a table), ``"rationale"`` (a human rationale, given as the
    metric's ``rationale=`` parameter; in ``Comparison.evaluate`` through ``params``),
    ``"ground_truth"`` (the object's ``box=`` or ``mask=`` in an image, likewise).

    Attributes:
        name: The metric's name, as ``Comparison.evaluate`` and the CLI take it.
        function: The function computing it.
        higher_is_better: True, False, or None where neither direction is better.
        requires: What the metric needs (see above).
        returns: ``"scalar"``, ``"frame"`` or ``"dict"``.
        category: What it measures: "faithfulness", "robustness", "axiom", "sanity",
            "agreement", "plausibility" or "localisation".
        citation: The paper the metric comes from.
        curve: The function giving the values the scalar summarises, or None.
    """

    name: str
    function: Callable[..., Any]
    higher_is_better: bool | None
    requires: frozenset[str]
    returns: str
    category: str
    citation: str
    curve: Callable[..., Any] | None = None


_PETSIUK = "Petsiuk et al. 2018, RISE, arXiv:1806.07421"
_ERASER = "DeYoung et al. 2020, ERASER, arXiv:1911.03429"
_YEH = "Yeh et al. 2019, arXiv:1901.09392"
_ARRAS = "Arras et al. 2022, CLEVR-XAI, arXiv:2003.07258"
_CHATTOPADHAY = "Chattopadhay et al. 2018, Grad-CAM++, arXiv:1710.11063"

_ENTRIES = (
    # name, function, higher_is_better, category, citation, and keyword overrides
    ("deletion_auc", deletion_auc, False, "faithfulness", _PETSIUK, {"curve": deletion_curve}),
    ("insertion_auc", insertion_auc, True, "faithfulness", _PETSIUK, {"curve": insertion_curve}),
    ("comprehensiveness", comprehensiveness, True, "faithfulness", _ERASER,
     {"curve": comprehensiveness_curve}),
    ("sufficiency", sufficiency, False, "faithfulness", _ERASER, {"curve": sufficiency_curve}),
    ("faithfulness_correlation", faithfulness_correlation, True, "faithfulness",
     "Bhatt et al. 2020, arXiv:2005.00631", {}),
    ("infidelity", infidelity, False, "faithfulness", _YEH, {}),
    ("max_sensitivity", max_sensitivity, False, "robustness", _YEH, {}),
    ("certified_radius", certified_radius, True, "robustness",
     "Xue, Alur and Wong 2023, MuS, arXiv:2307.05902", {}),
    ("completeness_gap", completeness_gap, False, "axiom",
     "Sundararajan et al. 2017, arXiv:1703.01365", {}),
    ("model_parameter_randomisation", model_parameter_randomisation, None, "sanity",
     "Adebayo et al. 2018, arXiv:1810.03292",
     {"returns": "frame", "requires": frozenset({EXPLAINER, TORCH_MODULE})}),
    ("rank_agreement", rank_agreement, True, "agreement",
     "Krishna et al. 2022, arXiv:2202.01602",
     {"returns": "dict", "requires": frozenset({EXPLANATIONS})}),
    *(
        (name, function, True, "plausibility", _ERASER,
         {"requires": frozenset({EXPLAINER, RATIONALE})})
        for name, function in (("token_precision", token_precision),
                               ("token_recall", token_recall), ("token_f1", token_f1),
                               ("iou_f1", iou_f1), ("auprc", auprc))
    ),
    *(
        (name, function, True, "localisation", citation,
         {"requires": frozenset({EXPLAINER, GROUND_TRUTH})})
        for name, function, citation in (
            ("localisation_iou", localisation_iou, "Zhou et al. 2016, CAM, arXiv:1512.04150"),
            ("pointing_game", pointing_game, "Zhang et al. 2018, arXiv:1608.00507"),
            ("relevance_mass_accuracy", relevance_mass_accuracy, _ARRAS),
            ("relevance_rank_accuracy", relevance_rank_accuracy, _ARRAS),
        )
    ),
    ("average_drop", average_drop, False, "faithfulness", _CHATTOPADHAY, {}),
    ("increase_in_confidence", increase_in_confidence, True, "faithfulness", _CHATTOPADHAY,
     {}),
    ("remove_and_retrain", remove_and_retrain, False, "faithfulness",
     "Hooker et al. 2019, arXiv:1806.10758",
     {"returns": "frame", "requires": frozenset({REFITTABLE_MODEL, TABLE})}),
)
METRICS: MappingProxyType[str, MetricInfo] = MappingProxyType(
    {
        name: MetricInfo(
            name=name,
            function=function,
            higher_is_better=higher,
            category=category,
            citation=citation,
            **{"requires": frozenset({EXPLAINER}), "returns": "scalar", **extra},
        )
        for name, function, higher, category, citation, extra in _ENTRIES
    }
)

# what Comparison.evaluate() computes by default: each costs a few hundred model evaluations
# at most. max_sensitivity re-explains the input n_samples times (10x the cost of LIME or
# KernelSHAP themselves), so it is evaluated only when asked for.
DEFAULT_METRICS = (
    "deletion_auc",
    "insertion_auc",
    "comprehensiveness",
    "sufficiency",
    "faithfulness_correlation",
    "infidelity",
    "completeness_gap",
)


def get_metric(name: str) -> MetricInfo:
    """The metadata of metric ``name``."""
    if not isinstance(name, str) or name not in METRICS:
        hint = did_you_mean(name, METRICS) if isinstance(name, str) else ""
        raise InvalidParameterError(
            f"Unknown metric {name!r}.{hint} Available metrics: {', '.join(METRICS)}."
        )
    return METRICS[name]


def available_metrics() -> pd.DataFrame:
    """One row per metric: name, category, higher_is_better, requires, returns, citation."""
    columns = ["name", "category", "higher_is_better", "requires", "returns", "citation"]
    rows = [
        {
            "name": info.name,
            "category": info.category,
            "higher_is_better": info.higher_is_better,
            "requires": ", ".join(sorted(info.requires)),
            "returns": info.returns,
            "citation": info.citation,
        }
        for info in METRICS.values()
    ]
    return pd.DataFrame(rows, columns=columns)


__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "MetricInfo",
    "agreement_frame",
    "auprc",
    "available_metrics",
    "average_drop",
    "certified_radius",
    "completeness_gap",
    "comprehensiveness",
    "comprehensiveness_curve",
    "confidence_frame",
    "confidence_summary",
    "deletion_auc",
    "deletion_curve",
    "faithfulness_correlation",
    "get_metric",
    "increase_in_confidence",
    "infidelity",
    "insertion_auc",
    "insertion_curve",
    "iou_f1",
    "layer_groups",
    "localisation_iou",
    "max_sensitivity",
    "model_parameter_randomisation",
    "plausibility",
    "pointing_game",
    "rank_agreement",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "remove_and_retrain",
    "sufficiency",
    "sufficiency_curve",
    "token_f1",
    "token_precision",
    "token_recall",
]


def scalar_metrics(
    names: Sequence[str] | str, *, owner: str = "Comparison.evaluate", per: str = "method",
    call: str = "(...)",
) -> list[MetricInfo]:
    """The metrics ``names`` (one name or several), each one that returns a scalar; an
    InvalidParameterError for one that returns a frame or a dict, which ``owner`` cannot
    tabulate as one number per ``per``."""
    infos = [get_metric(name) for name in ([names] if isinstance(names, str) else names)]
    for info in infos:
        if info.returns != "scalar":
            raise InvalidParameterError(
                f"Metric {info.name!r} returns a {info.returns}, not one number per {per}, so "
                f"{owner} cannot tabulate it; call xplain.metrics.{info.name}{call} directly."
            )
    return infos


def metric_params(
    params: Mapping[str, Mapping[str, Any]] | None,
    infos: list[MetricInfo],
    shared: Mapping[str, Any] | None = None,
) -> dict[str, Mapping[str, Any]]:
    """``params`` (metric name -> its keyword parameters), checked against the metrics
    ``infos`` evaluated and each one's signature; ``shared`` keyword parameters (e.g. a
    human ``rationale=``) go to every evaluated metric that takes them, unless ``params``
    gives that metric its own."""
    params = dict(params or {})
    known = {info.name: info for info in infos}
    for name, given in params.items():
        if name not in known:
            raise InvalidParameterError(
                f"The 'params' parameter of evaluate has parameters for metric {name!r}, which "
                f"is not evaluated ({', '.join(known)}).{did_you_mean(name, known)}"
            )
        allowed = list(inspect.signature(known[name].function).parameters)[2:]
        for key in given:
            if key not in allowed:
                raise InvalidParameterError(
                    f"{name} got an unexpected parameter {key!r}.{did_you_mean(key, allowed)} "
                    f"Allowed parameters: {', '.join(allowed) or 'none'}."
                )
    for key, value in (shared or {}).items():
        takers = [
            i.name for i in infos if key in list(inspect.signature(i.function).parameters)[2:]
        ]
        if not takers:
            raise InvalidParameterError(
                f"evaluate got the parameter {key!r}, which none of the evaluated metrics "
                f"({', '.join(known)}) takes; pass a metric's own parameters as params="
                "{metric: {name: value}}."
            )
        for name in takers:
            params[name] = {key: value, **params.get(name, {})}
    return params
