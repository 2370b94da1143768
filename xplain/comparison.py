"""Several methods on one instance, side by side: agreement and faithfulness metrics.

``Explainer.compare`` encodes the instance once, predicts it once and resolves the target
once (None: the predicted class), so every method explains the same score of the same
class. Each Explanation's ``seconds`` and ``n_model_evals`` are what ``explain`` would
have reported for that method alone (the shared prediction is counted in each).

A :class:`Comparison` is plain data: its explanations, the metric names to evaluate and
the scores evaluated so far. Only :meth:`Comparison.evaluate` runs the model (through the
explainer that made it, kept for that alone); showing or saving it never does.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xplain._validation import did_you_mean
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    UndefinedMeasureWarning,
)
from xplain.explanation import Explanation, jsonable
from xplain.methods.base import Method
from xplain.metrics import (
    DEFAULT_METRICS,
    MetricInfo,
    metric_params,
    scalar_metrics,
)
from xplain.metrics.agreement import agreement_frame, rank_agreement

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
# the measures of rank_agreement that Comparison.agreement_matrix tabulates (sign agreement
# is left out: against magnitudes it says nothing)
MATRIX_MEASURES = ("spearman", "kendall", "top_k_jaccard")


class Comparison:
    """Explanations of one instance by several methods, for one target class.

    ``explanations`` maps each method name to its :class:`~xplain.Explanation`;
    :meth:`agreement` ranks how much they agree and :meth:`evaluate` scores each with
    the metrics of :mod:`xplain.metrics` (model calls; each score computed once, then
    cached). ``explainer`` made the explanations and is used by :meth:`evaluate` only;
    it is None for a comparison restored by :meth:`from_dict`. Displaying the comparison
    (``_repr_html_``, :meth:`to_html`, :meth:`save_html`) never calls the model: the
    report shows :attr:`evaluation`, the last evaluate()'s table, when there is one.
    """

    def __init__(
        self,
        explainer: Explainer | None,
        explanations: Mapping[str, Explanation],
        metrics: Sequence[str] = DEFAULT_METRICS,
    ) -> None:
        self.explainer = explainer
        self.explanations: dict[str, Explanation] = dict(explanations)
        self.metrics = tuple(metrics)
        # (explainer, method, metric, params) -> value; the explainer by id (it holds a model)
        self._scores: dict[tuple[int, str, str, str], Any] = {}
        self._evaluation: pd.DataFrame | None = None

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

    @property
    def evaluation(self) -> pd.DataFrame | None:
        """A copy of what the last :meth:`evaluate` returned (what reports show), or None."""
        return None if self._evaluation is None else self._evaluation.copy()

    # -- HTML ----------------------------------------------------------------------------
    def to_html(self, *, full_page: bool = False, evaluate: bool = False) -> str:
        """Self-contained HTML: the methods side by side, their agreement and metrics.

        ``full_page``: a standalone page rather than a fragment (Jupyter). The metrics
        table is :attr:`evaluation`, there once :meth:`evaluate` was called;
        ``evaluate=True`` calls it first (with the comparison's metrics; model calls).
        Otherwise no model is called. See :mod:`xplain.report.comparison`.
        """
        from xplain.report.comparison import render_comparison

        if not isinstance(evaluate, bool):  # "yes" would run the model by accident
            raise InvalidParameterError(
                f"The 'evaluate' parameter of Comparison.to_html / save_html must be a bool. "
                f"Got {evaluate!r}."
            )
        return render_comparison(self, full_page=full_page, evaluate=evaluate)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path, *, evaluate: bool = False) -> Path:
        """Write a standalone HTML page to ``path`` and return the path (``evaluate``: see
        :meth:`to_html`)."""
        from xplain.report.render import save_page

        return save_page(path, self.to_html(full_page=True, evaluate=evaluate))

    def plot(self, kind: str = "bars", **kwargs: Any) -> Any:
        """Draw with matplotlib (:func:`xplain.plot.comparison_plot`).

        Args:
            kind: ``"bars"``, one panel per method in one feature order (returns an array of
                Axes), or ``"agreement"``, the heat map of :meth:`agreement_matrix` (returns
                the Axes).
            **kwargs: Passed on to that plot.
        """
        from xplain.plot import comparison_plot

        return comparison_plot(self, kind, **kwargs)

    # -- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Strict JSON: each explanation's :meth:`~xplain.Explanation.to_dict`, the metric
        names and :attr:`evaluation` (columns, rows by method, ``higher_is_better``)."""
        evaluation = None
        if self._evaluation is not None:
            frame = self._evaluation
            evaluation = jsonable({
                "columns": list(frame.columns),
                "methods": list(frame.index),
                "rows": frame.to_numpy(dtype=object).tolist(),
                "higher_is_better": frame.attrs.get("higher_is_better", {}),
            })
        return {
            "explanations": {name: e.to_dict() for name, e in self.explanations.items()},
            "metrics": list(self.metrics),
            "evaluation": evaluation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """The Comparison :meth:`to_dict` wrote (``data``, also after JSON), without an
        explainer: it shows its evaluation; ``evaluate(explainer=...)`` scores it again."""
        if not isinstance(data, Mapping) or not isinstance(data.get("explanations"), Mapping):
            raise InvalidInputError(
                "Comparison.from_dict needs the dict written by Comparison.to_dict, with an "
                f"'explanations' dict. Got {type(data).__name__}."
            )
        explanations = {
            str(name): Explanation.from_dict(e) for name, e in data["explanations"].items()
        }
        if not explanations:
            raise InvalidInputError("Comparison.from_dict got no explanations.")
        comparison = cls(None, explanations, tuple(data.get("metrics", DEFAULT_METRICS)))
        evaluation = data.get("evaluation")
        if evaluation is not None:
            comparison._evaluation = _evaluation_frame(evaluation)
        return comparison

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

    def agreement_matrix(self, measure: str = "spearman", *, k: int = 5) -> pd.DataFrame:
        """One agreement measure for every pair of methods, as a square table: what the HTML
        report and :func:`xplain.plot.agreement` show.

        A rank correlation compares the values of two signed methods, and the |values| of
        both for a pair with an unsigned method (``Explanation.signed`` False, e.g.
        saliency): a magnitude ranks importance, not direction, and a signed method's large
        negative values are as important as its large positive ones. ``top_k_jaccard``
        always compares |values|. Special features are left out and float noise counts as
        zero (:func:`xplain.metrics.rank_agreement`, which warns where a value is undefined).

        Args:
            measure: ``"spearman"``, ``"kendall"`` (tau-b) or ``"top_k_jaccard"``.
            k: How many of the largest |values| ``top_k_jaccard`` compares (>= 1).

        Returns:
            A DataFrame with one row and one column per method (in :attr:`methods` order),
            1 on the diagonal, NaN where the measure is undefined. ``frame.attrs`` holds
            ``"measure"`` and ``"magnitudes"``: a list of rows of bools in the same order,
            True where the cell compares |values| rather than the values (never on the
            diagonal).
        """
        if measure not in MATRIX_MEASURES:
            raise InvalidParameterError(
                f"The 'measure' parameter of Comparison.agreement_matrix must be one of "
                f"{', '.join(map(repr, MATRIX_MEASURES))}. Got {measure!r}."
                f"{did_you_mean(str(measure), MATRIX_MEASURES)}"
            )
        names = self.methods
        matrix = np.eye(len(names))
        magnitudes = [[False] * len(names) for _ in names]
        for i, j in combinations(range(len(names)), 2):
            a, b = self.explanations[names[i]], self.explanations[names[j]]
            absolute = measure == "top_k_jaccard" or not (a.signed and b.signed)
            if absolute:
                a, b = (dataclasses.replace(e, values=np.abs(e.values)) for e in (a, b))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", UndefinedMeasureWarning)
                value = rank_agreement(a, b, k=k)[measure]
            for warning in caught:  # an undefined measure not asked for is no news
                if math.isnan(value) or not isinstance(warning.message, UndefinedMeasureWarning):
                    warnings.warn(warning.message, stacklevel=2)
            matrix[i, j] = matrix[j, i] = value
            magnitudes[i][j] = magnitudes[j][i] = absolute
        frame = pd.DataFrame(matrix, index=pd.Index(names, name="method"), columns=names)
        frame.attrs.update(measure=measure, magnitudes=magnitudes)
        return frame

    # -- metrics -------------------------------------------------------------------------
    def evaluate(
        self,
        metrics: Sequence[str] | None = None,
        *,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        per_k: bool = False,
        explainer: Explainer | None = None,
        **shared: Any,
    ) -> pd.DataFrame:
        """One row per method: each metric, then the method's ``seconds`` and ``n_model_evals``.

        ``metrics`` are names from :func:`xplain.metrics.available_metrics` that return a
        scalar (default: those given to ``compare``, else ``xplain.metrics.DEFAULT_METRICS``);
        ``params`` maps a metric name to its keyword parameters. With ``per_k=True`` the
        metrics built on a curve over k (comprehensiveness, sufficiency) also get one
        column per k, e.g. ``comprehensiveness@5%``. A metric that does not apply to a
        method (e.g. max_sensitivity of a tree method) is NaN. ``frame.attrs`` records
        which direction is better per column (``higher_is_better``). The frame becomes
        :attr:`evaluation`, which reports show.

        The metrics run ``explainer``'s model (default: the explainer that made the
        comparison; a comparison restored by :meth:`from_dict` needs one passed). Other
        keywords (``shared``) go to every evaluated metric that takes them, e.g. the human
        ``rationale=`` of the plausibility metrics.
        """
        infos = scalar_metrics(self.metrics if metrics is None else metrics)
        params = metric_params(params, infos, shared)
        explainer = self.explainer if explainer is None else explainer
        if explainer is None:
            raise InvalidParameterError(
                "This Comparison holds no explainer (it was restored by Comparison.from_dict "
                "or made without one), so evaluate cannot run the metrics; pass the explainer "
                "that made it: comparison.evaluate(explainer=...)."
            )
        rows = {}
        for method, explanation in self.explanations.items():
            row: dict[str, float] = {}
            for info in infos:
                kwargs = dict(params.get(info.name, {}))
                if per_k and info.name in ("comprehensiveness", "sufficiency"):
                    curve = self._score(explainer, method, info, kwargs, use_curve=True)
                    if not isinstance(curve, pd.Series):  # not applicable: NaN
                        row[info.name] = curve
                        continue
                    row[info.name] = float(curve.mean())
                    row.update({f"{info.name}@{100 * k:g}%": v for k, v in curve.items()})
                else:
                    row[info.name] = self._score(explainer, method, info, kwargs, False)
            row["seconds"] = explanation.seconds
            row["n_model_evals"] = explanation.n_model_evals
            rows[method] = row
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "method"
        frame.attrs["higher_is_better"] = {info.name: info.higher_is_better for info in infos}
        self._evaluation = frame.copy()
        return frame

    def _score(
        self,
        explainer: Explainer,
        method: str,
        info: MetricInfo,
        kwargs: dict[str, Any],
        use_curve: bool,
    ) -> Any:
        metric = info.name + ("/curve" if use_curve else "")
        # by content: repr would abbreviate a long array (two rationales, one cached score)
        from xplain._identity import config_fingerprint

        key = (id(explainer), method, metric, config_fingerprint(kwargs))
        if key not in self._scores:
            function = info.curve if use_curve and info.curve is not None else info.function
            try:
                value = function(explainer, self.explanations[method], **kwargs)
            except MethodNotApplicableError:
                value = math.nan
            self._scores[key] = value
        return self._scores[key]


def compared_methods(
    methods: Sequence[str | Method] | None,
    params: Mapping[str, Mapping[str, Any]] | None,
    applicable: Sequence[str],
) -> tuple[dict[str, str | Method], dict[str, dict[str, Any]]]:
    """``compare``'s methods (None: the defaults among ``applicable``) by the name each
    Explanation records (a method object's ``name``), and their parameters, checked:
    distinct names, and parameters only for methods given by name, as dicts."""
    if methods is None:
        methods = [name for name in DEFAULT_METHODS if name in set(applicable)]
    if isinstance(methods, str) or not all(isinstance(m, str | Method) for m in methods):
        raise InvalidParameterError(
            f"The 'methods' parameter of compare must be a list of method names or method "
            f"objects, e.g. ['saliency', Smooth(IntegratedGradients())]. Got {methods!r}."
        )
    chosen = list(methods)
    names = [m if isinstance(m, str) else m.name for m in chosen]
    repeated = sorted({m for m in names if names.count(m) > 1})
    if not names or repeated:
        twice = f", naming {', '.join(map(repr, repeated))} twice" if repeated else ""
        raise InvalidParameterError(
            "The 'methods' parameter of compare must name at least one method, each once "
            f"(a method object by its name). Got {chosen!r}{twice}."
        )
    by_name = dict(zip(names, chosen, strict=True))
    params = dict(params or {})
    for name, given in params.items():
        if name not in by_name:
            raise InvalidParameterError(
                f"The 'params' parameter of compare has parameters for {name!r}, which is not "
                f"among the methods compared ({', '.join(names)}).{did_you_mean(name, names)}"
            )
        if not isinstance(by_name[name], str):
            raise InvalidParameterError(
                f"The 'params' parameter of compare has parameters for {name!r}, given as the "
                f"method object {by_name[name]!r}; set them where the object is constructed."
            )
        if not isinstance(given, Mapping):
            raise InvalidParameterError(
                f"The 'params' parameter of compare must map each method name to a dict of "
                f"its parameters. Got {type(given).__name__} for {name!r}."
            )
    return by_name, {name: dict(params.get(name, {})) for name in names}


def compared_metrics(metrics: Sequence[str] | None) -> tuple[str, ...] | None:
    """``compare``'s ``metrics`` checked (each a scalar metric), or None when not given."""
    return None if metrics is None else tuple(info.name for info in scalar_metrics(metrics))


def _evaluation_frame(plain: Mapping[str, Any]) -> pd.DataFrame:
    """:attr:`Comparison.evaluation` from its ``to_dict`` form (None back to NaN)."""
    try:
        rows = [[math.nan if v is None else v for v in row] for row in plain["rows"]]
        frame = pd.DataFrame(rows, index=pd.Index(plain["methods"], name="method"),
                             columns=list(plain["columns"]))
        frame = frame.apply(pd.to_numeric)
    except (KeyError, TypeError, ValueError) as err:
        raise InvalidInputError(
            f"Comparison.from_dict cannot read 'evaluation' ({err}); pass the dict written "
            "by Comparison.to_dict."
        ) from err
    frame.attrs["higher_is_better"] = dict(plain.get("higher_is_better", {}))
    return frame
