"""Several methods on one instance, side by side: agreement and faithfulness metrics.

``Explainer.compare`` encodes the instance once, predicts it once and resolves the target
once (None: the predicted class), so every method explains the same score of the same
class. Each Explanation's ``seconds`` and ``n_model_evals`` are what ``explain`` would
have reported for that method alone (the shared prediction is counted in each).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.metrics import DEFAULT_METRICS, MetricInfo, get_metric
from xplain.metrics.agreement import agreement_frame

if TYPE_CHECKING:
    from xplain.explainer import Explainer

# compare()'s methods when none are named: those of these that the explainer can run
DEFAULT_METHODS = (
    "saliency",
    "input_x_gradient",
    "integrated_gradients",
    "smoothgrad",
    "occlusion",
    "lime",
    "kernel_shap",
    "tree_shap",
)


class Comparison:
    """Explanations of one instance by several methods, for one target class.

    ``explanations`` maps each method name to its :class:`~xplain.Explanation`;
    :meth:`agreement` ranks how much they agree and :meth:`evaluate` scores each with
    the metrics of :mod:`xplain.metrics` (computed once, then cached).
    """

    def __init__(
        self,
        explainer: Explainer,
        explanations: Mapping[str, Explanation],
        metrics: Sequence[str] = DEFAULT_METRICS,
    ) -> None:
        self.explainer = explainer
        self.explanations: dict[str, Explanation] = dict(explanations)
        self.metrics = tuple(metrics)
        self._scores: dict[tuple[str, str, str], Any] = {}  # (method, metric, params) -> value

    # -- what was explained --------------------------------------------------------------
    @property
    def methods(self) -> list[str]:
        return list(self.explanations)

    @property
    def _first(self) -> Explanation:
        return next(iter(self.explanations.values()))

    @property
    def features(self) -> list[str]:
        return list(self._first.features)

    @property
    def target(self) -> int:
        return self._first.target

    @property
    def target_label(self) -> str:
        return self._first.target_label

    @property
    def prediction(self) -> np.ndarray:
        return self._first.prediction

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: feature, special, then one column of values per method."""
        frame = pd.DataFrame(
            {"feature": self.features, "special": self._first._special_flags()}
        )
        for name, explanation in self.explanations.items():
            frame[name] = explanation.values
        return frame

    # -- HTML ----------------------------------------------------------------------------
    def to_html(self, *, full_page: bool = False, evaluate: bool = True) -> str:
        """Self-contained HTML: the methods side by side, their agreement and metrics.

        The metrics are those of :meth:`evaluate` (computed on first use, then cached);
        ``evaluate=False`` leaves them out. See :mod:`xplain.report.comparison`.
        """
        from xplain.report.comparison import render_comparison

        return render_comparison(self, full_page=full_page, evaluate=evaluate)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path, *, evaluate: bool = True) -> Path:
        """Write a standalone HTML page and return its path."""
        from xplain.report.render import save_page

        return save_page(path, self.to_html(full_page=True, evaluate=evaluate))

    def __repr__(self) -> str:
        return (
            f"Comparison(methods={self.methods}, target={self.target_label!r}, "
            f"{self._first.prediction_text()}, n_features={len(self.features)})"
        )

    # -- agreement -----------------------------------------------------------------------
    def agreement(self, k: int = 5) -> pd.DataFrame:
        """Rank agreement of every pair of methods (one row per pair).

        Columns ``method_a``, ``method_b``, ``spearman``, ``kendall``, ``top_k_jaccard``
        (of the ``k`` largest |values|) and ``sign_agreement``; special features are left
        out. See :func:`xplain.metrics.rank_agreement`.
        """
        return agreement_frame(self.explanations, k=k)

    # -- metrics -------------------------------------------------------------------------
    def evaluate(
        self,
        metrics: Sequence[str] | None = None,
        *,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        per_k: bool = False,
    ) -> pd.DataFrame:
        """One row per method: each metric, then the method's ``seconds`` and ``n_model_evals``.

        ``metrics`` are names from :func:`xplain.metrics.available_metrics` that return a
        scalar (default: those given to ``compare``, else ``xplain.metrics.DEFAULT_METRICS``);
        ``params`` maps a metric name to its keyword parameters. With ``per_k=True`` the
        metrics built on a curve over k (comprehensiveness, sufficiency) also get one
        column per k, e.g. ``comprehensiveness@5%``. A metric that does not apply to a
        method (e.g. max_sensitivity of a tree method) is NaN. ``frame.attrs`` records
        which direction is better per column (``higher_is_better``).
        """
        infos = _scalar_metrics(self.metrics if metrics is None else metrics)
        params = _metric_params(params, infos)
        rows = {}
        for method, explanation in self.explanations.items():
            row: dict[str, float] = {}
            for info in infos:
                kwargs = dict(params.get(info.name, {}))
                if per_k and info.name in ("comprehensiveness", "sufficiency"):
                    curve = self._score(method, info, kwargs, use_curve=True)
                    if not isinstance(curve, pd.Series):  # not applicable: NaN
                        row[info.name] = curve
                        continue
                    row[info.name] = float(curve.mean())
                    row.update({f"{info.name}@{100 * k:g}%": v for k, v in curve.items()})
                else:
                    row[info.name] = self._score(method, info, kwargs, use_curve=False)
            row["seconds"] = explanation.seconds
            row["n_model_evals"] = explanation.n_model_evals
            rows[method] = row
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "method"
        frame.attrs["higher_is_better"] = {info.name: info.higher_is_better for info in infos}
        return frame

    def _score(
        self, method: str, info: MetricInfo, kwargs: dict[str, Any], use_curve: bool
    ) -> Any:
        key = (method, info.name + ("/curve" if use_curve else ""), repr(sorted(kwargs.items())))
        if key not in self._scores:
            function = info.curve if use_curve and info.curve is not None else info.function
            try:
                value = function(self.explainer, self.explanations[method], **kwargs)
            except MethodNotApplicableError:
                value = math.nan
            self._scores[key] = value
        return self._scores[key]


def compare(
    explainer: Explainer,
    instance: Any,
    methods: Sequence[str] | None = None,
    target: int | str | None = None,
    metrics: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Comparison:
    """``explainer.compare``: every method validated first, then run on shared inputs."""
    if methods is None:
        applicable = set(explainer.applicable_methods())
        methods = [name for name in DEFAULT_METHODS if name in applicable]
    if isinstance(methods, str) or not all(isinstance(m, str) for m in methods):
        raise InvalidParameterError(
            f"The 'methods' parameter of compare must be a list of method names, e.g. "
            f"['saliency', 'integrated_gradients']. Got {methods!r}."
        )
    methods = list(methods)
    repeated = sorted({m for m in methods if methods.count(m) > 1})
    if not methods or repeated:
        raise InvalidParameterError(
            "The 'methods' parameter of compare must name at least one method, each once. "
            f"Got {methods!r}."
        )
    params = dict(params or {})
    for name, given in params.items():
        if name not in methods:
            raise InvalidParameterError(
                f"The 'params' parameter of compare has parameters for {name!r}, which is not "
                f"among the methods compared ({', '.join(methods)}).{did_you_mean(name, methods)}"
            )
        if not isinstance(given, Mapping):
            raise InvalidParameterError(
                f"The 'params' parameter of compare must map each method name to a dict of "
                f"its parameters. Got {type(given).__name__} for {name!r}."
            )
    names = None if metrics is None else [info.name for info in _scalar_metrics(metrics)]
    algorithms = {name: explainer._build(name, dict(params.get(name, {}))) for name in methods}

    prepared = explainer._prepare(instance, target)
    explanations = {
        name: explainer._attribute(prepared, name, algorithm)
        for name, algorithm in algorithms.items()
    }
    comparison = Comparison(explainer, explanations, DEFAULT_METRICS if names is None else names)
    if names is not None:
        comparison.evaluate()
    return comparison


def _scalar_metrics(names: Sequence[str]) -> list[MetricInfo]:
    if isinstance(names, str):
        names = [names]
    infos = [get_metric(name) for name in names]
    for info in infos:
        if info.returns != "scalar":
            raise InvalidParameterError(
                f"Metric {info.name!r} returns a {info.returns}, not one number per method, so "
                f"Comparison.evaluate cannot tabulate it; call xplain.metrics.{info.name}(...) "
                "directly."
            )
    return infos


def _metric_params(
    params: Mapping[str, Mapping[str, Any]] | None, infos: list[MetricInfo]
) -> dict[str, Mapping[str, Any]]:
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
    return params
