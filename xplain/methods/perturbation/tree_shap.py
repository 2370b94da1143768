"""TreeSHAP: exact Shapley values of tree ensembles, computed by shap's TreeExplainer."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from xplain._validation import BOOLEAN, NONE, Options, Param
from xplain.errors import InvalidParameterError, MethodNotApplicableError, MissingDependencyError
from xplain.methods._completeness import efficiency
from xplain.methods.base import Attribution, Method
from xplain.registry import register_method
from xplain.views import TreeView, View

PERTURBATIONS = ("interventional", "tree_path_dependent")
# what the base value is (diagnostics["base_value_source"], the reports' tooltip)
_BASE_VALUE_SOURCES = {
    "interventional": "the weighted mean score of the background rows",
    "tree_path_dependent": (
        "shap's expected value over the training data recorded in the trees (their cover; "
        "path-dependent, no background)"
    ),
}


@register_method
class TreeShap(Method):
    """Shapley values of a tree ensemble in polynomial time (shap's C++ TreeExplainer).

    Lundberg, Erion, Chen, DeGrave, Prutkin, Nair, Katz, Himmelfarb, Bansal and Lee
    (2020), "From local explanations to global understanding with explainable AI for
    trees" (Nature Machine Intelligence 2, 56-67). ``feature_perturbation``:

    * ``"interventional"`` (default when the view has background rows): Shapley values
      of ``v(S) = sum_k w_k f(x_S, b_k)``, the value function that ``kernel_shap`` and
      ``exact_shapley`` estimate on the tabular perturbation view, so all three agree.
      shap averages its background rows uniformly, which is the answer for equal weights
      (one TreeExplainer for all rows explained). To honour the weights ``w_k`` of a
      summarised background, either each background row is one TreeExplainer's only
      reference, ``phi(x) = sum_k w_k phi(x; b_k)``, or, when fewer rows are explained
      than there are background rows, each explained row is the only reference and the
      background rows are explained against it, negated, since a single-reference
      Shapley value is antisymmetric: ``phi(x; b) = -phi(b; x)``. Both are exact.
    * ``"tree_path_dependent"`` (default without background): absent features follow
      the trees' training cover, no background is used. shap computes it for the raw
      output only: margins of boosted models, probabilities of forests.

    The explained score follows the explainer's ``output``. For a binary boosted model
    ``"log_odds"`` and ``"raw"`` are its margin, explained exactly. Its
    ``"probability"`` needs the interventional variant, and is not the exact Shapley
    value of the probability: shap computes the margin's Shapley values against each
    background row and rescales them to sum to ``sigmoid(f(x)) - sigmoid(f(b_k))``
    (per-reference rescaling, Lundberg et al. 2020), which keeps efficiency but may
    differ from ``kernel_shap`` / ``exact_shapley`` on probabilities (by 0.05 on a
    5-column example); diagnostics carry a note. A forest's probabilities are its raw
    output and are exact.

    With a one-hot encoding inside a Pipeline, shap's players are the indicator
    columns and a column's value is the sum over its indicators (the usual practice);
    that sum need not equal the Shapley value of the column as one player.

    ``interactions=True`` also computes SHAP interaction values (shap's
    ``shap_interaction_values``; Lundberg et al. 2020, section "SHAP interaction values",
    after Fujimoto, Kojadinovic and Marichal 2006): ``Explanation.interactions`` ``[d, d]``,
    symmetric, the diagonal each feature's main effect, ``[i, j] + [j, i]`` the
    interaction of i and j, each row summing to the feature's value. shap computes them
    for the path-dependent variant only (its C++ code returns zeros for the
    interventional one), so the values are the path-dependent ones too
    (``diagnostics["feature_perturbation"]``) and, like them, explain the raw output only:
    margins of boosted models (``output='log_odds'`` or ``'raw'``), probabilities of
    forests. One-hot blocks are summed on both axes, as the values are.
    ``diagnostics["interaction_gap"]`` is ``max_i |sum_j interactions[i, j] - values[i]|``
    (float32 rounding for xgboost, which computes them itself).

    ``attribute_batch`` stacks the rows of views that share model and background (as
    ``Adapter.view_batch`` builds them) and explains them in one shap call per group.
    The per-background-row TreeExplainers are kept by the method object, so one object
    reused for many batches (``explain_dataset``'s blocks) builds them once.

    Diagnostics: ``efficiency_gap`` = ``|sum(phi) - delta|``, ``delta`` = ``f(x) -
    base_value``, with ``f(x)`` from the model itself (so it also checks that shap read the
    model right), and ``base_value`` the weighted mean score of the background
    (interventional), as for every SHAP-family method, or shap's expected value over the
    training cover (path-dependent); ``base_value_source`` says which, in words.
    """

    name: ClassVar[str] = "tree_shap"
    family: ClassVar[str] = "perturbation"
    view: ClassVar[type[View] | str] = TreeView
    reference: ClassVar[str] = "Lundberg et al. 2020, Nature Machine Intelligence, arXiv:1905.04610"
    parameters = {
        "feature_perturbation": Param(
            None,
            Options(PERTURBATIONS),
            NONE,
            doc="None: interventional with background rows, else tree_path_dependent",
        ),
        "interactions": Param(
            False,
            BOOLEAN,
            doc="also compute SHAP interaction values (path-dependent; e.interactions)",
        ),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["interactions"] and self.params["feature_perturbation"] == "interventional":
            raise InvalidParameterError(
                "tree_shap computes interaction values for "
                "feature_perturbation='tree_path_dependent' only (shap's TreeExplainer has no "
                "interventional interaction values). Drop feature_perturbation='interventional' "
                "(interactions=True uses the path-dependent variant), or interactions=True."
            )
        # (background id, model id, model_output) -> one TreeExplainer per background row:
        # 3 ms each to build, most of a batch's time on a few hundred rows. Per object
        # (not per process), so a model refitted in place is never explained by stale ones
        self._references: dict[tuple[int, int, str], tuple[Any, list[Any]]] = {}

    def attribute(self, view: TreeView, target: int) -> Attribution:
        return self.attribute_batch([view], [target])[0]

    def attribute_batch(
        self, views: Sequence[TreeView], targets: Sequence[int]
    ) -> list[Attribution]:
        """One shap pass per group of views sharing model and background (their rows stacked)."""
        shap = _import_shap()
        out: list[Attribution] = [None] * len(views)  # type: ignore[list-item]
        interactions = self.params["interactions"]
        for group in _shared(views):
            first = views[group[0]]
            model_output = shap_model_output(first)
            rows = np.concatenate([views[i].row for i in group])  # [n, m]
            mode = self.params["feature_perturbation"] or (
                "interventional"
                if first.background is not None and not interactions
                else "tree_path_dependent"
            )
            pairs: np.ndarray | list[None] = [None] * len(group)
            if mode == "interventional":
                phi = _interventional(shap, first, rows, model_output, self._references)
                expected = None
            else:
                phi, expected, found = _path_dependent(
                    shap, first, rows, model_output, interactions
                )
                pairs = pairs if found is None else found  # [n, m, m, outputs]
            for i, values, pair in zip(group, phi, pairs, strict=True):  # values: [m, outputs]
                out[i] = _attribution(
                    views[i], targets[i], values, expected, mode, model_output, pair
                )
        return out


def shap_model_output(view: TreeView) -> str:
    """shap's ``model_output`` that computes the view's explained ``output``, or a refusal
    (MethodNotApplicableError) saying why shap cannot."""
    facts, output = view.outputs, view.output
    if not facts.is_classifier:
        return "raw"
    name = type(view.model).__name__
    if facts.leaves_hold_probabilities:
        if output == "probability":
            return "raw"  # the leaves are class frequencies: raw output = probability
        raise MethodNotApplicableError(
            f"tree_shap explains the probabilities of a {name} (its leaves hold class "
            f"frequencies), not their {output}; use Explainer(..., output='probability'), "
            "or kernel_shap / exact_shapley for log-odds."
        )
    if output == "raw":
        return "raw"
    if facts.n_classes == 2 and facts.link == "logistic":
        return "raw" if output == "log_odds" else "probability"
    why = (
        "the probabilities of a multi-class boosted model are a softmax over all classes' "
        "trees, which shap's TreeExplainer does not compute"
        if facts.n_classes > 2
        else "its probability is not the sigmoid of its margin"
    )
    raise MethodNotApplicableError(
        f"tree_shap cannot explain the {output} of this {name}: {why}. Use "
        "Explainer(..., output='raw') for its margins, or kernel_shap / exact_shapley."
    )


def _attribution(
    view: TreeView,
    target: int,
    phi: np.ndarray,
    expected: np.ndarray | None,
    mode: str,
    model_output: str,
    pairs: np.ndarray | None = None,
) -> Attribution:
    """One row's values for ``target`` and diagnostics, from shap's ``phi`` ``[m, outputs]``
    (and its interaction values ``pairs`` ``[m, m, outputs]``, mapped to features)."""
    # shap explains one output for a binary boosted model: class 1's score, whose
    # complement (1 - p, or the margin -z) is class 0's, with negated values.
    n_classes = len(view.scores) if view.scores is not None else phi.shape[1]
    if phi.shape[1] == 1 and n_classes == 2:
        column, column_class, sign = 0, 1, (1.0 if target == 1 else -1.0)
    else:
        column, column_class, sign = view.class_index(target), target, 1.0
    values = sign * phi[:, column]  # [m]

    diagnostics: dict[str, Any] = {"feature_perturbation": mode}
    if model_output == "probability":
        diagnostics["note"] = (
            "probability: margin Shapley values rescaled per background row (shap), "
            "not the exact Shapley values of the probability"
        )
    if expected is not None:
        base = float(expected[column])
    elif view.base_scores is not None:
        base = float(view.base_scores[column_class])
    else:
        base = None
    if base is not None and view.scores is not None:
        total = float(view.scores[column_class]) - base  # in shap's column
        score = float(view.scores[target])
        diagnostics.update(efficiency(values, score, score - sign * total))
        diagnostics["base_value_source"] = _BASE_VALUE_SOURCES[mode]
    if pairs is None:
        return Attribution(values, diagnostics)
    matrix = sign * pairs[:, :, column]  # [m, m]
    diagnostics["interaction_gap"] = float(np.abs(matrix.sum(1) - values).max(initial=0.0))
    return Attribution(values, diagnostics, pairwise_features(view.to_features, matrix))


def pairwise_features(
    to_features: Callable[[np.ndarray], np.ndarray], matrix: np.ndarray
) -> np.ndarray:
    """A matrix over model columns ``[m, m]`` -> over features ``[d, d]``, mapping both axes
    with the (linear) map of the values, so rows still sum to the values: one-hot blocks
    summed, ``out[i, j] = sum over a in i, b in j of matrix[a, b]``.

    Parameters: ``to_features``, the values' map ``[m]`` -> ``[d]`` (a view's); ``matrix``,
    pairwise values ``[m, m]``.
    """
    columns = np.stack([to_features(row) for row in matrix])  # [m, d]
    return np.stack([to_features(column) for column in columns.T], axis=1)  # [d, d]


def _shared(views: Sequence[TreeView]) -> list[list[int]]:
    """Positions of the views, grouped by the model and background objects they share."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, view in enumerate(views):
        key = (id(view.model), id(view.background), id(view.background_weights), view.output)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _interventional(
    shap: Any, view: TreeView, rows: np.ndarray, model_output: str, references: dict
) -> np.ndarray:
    """``phi(x) = sum_k w_k phi(x; b_k)`` of each row: ``[n, m, outputs]``.

    Uniform weights: one TreeExplainer on all background rows, which shap averages.
    Otherwise the fewer TreeExplainers of: one per row, explaining the background with the
    row as only reference (``phi(x; b) = -phi(b; x)``), or one per background row.
    """
    background = view.background
    if background is None:
        raise InvalidParameterError(
            "tree_shap with feature_perturbation='interventional' needs background rows, "
            "which this explainer lacks; use 'tree_path_dependent'."
        )
    k = background.shape[0]
    weights = view.background_weights
    weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights)  # [k]
    if np.all(weights == weights[0]):
        explainer = _explainer(shap, view, background, "interventional", model_output)
        return _outputs(explainer.shap_values(rows, check_additivity=False))
    if rows.shape[0] <= k:
        out = []
        for row in rows:
            explainer = _explainer(shap, view, row[None], "interventional", model_output)
            reverse = _outputs(explainer.shap_values(background, check_additivity=False))
            out.append(-np.einsum("k,kmo->mo", weights, reverse))  # [k, m, o] -> [m, o]
        return np.stack(out)
    total = 0.0
    explainers = _per_reference(shap, view, model_output, references)
    for weight, explainer in zip(weights, explainers, strict=True):
        total = total + weight * _outputs(explainer.shap_values(rows, check_additivity=False))
    return np.asarray(total)


def _per_reference(shap: Any, view: TreeView, model_output: str, references: dict) -> list[Any]:
    """One interventional TreeExplainer per background row of the view, kept in
    ``references`` (with the background and model, so that their ids stay theirs)."""
    background = view.background
    assert background is not None
    key = (id(background), id(view.model), model_output)
    if key not in references:
        explainers = [
            _explainer(shap, view, reference[None], "interventional", model_output)
            for reference in background
        ]
        references[key] = ((background, view.model), explainers)
    return references[key][1]


def _path_dependent(
    shap: Any, view: TreeView, rows: np.ndarray, model_output: str, interactions: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Path-dependent values ``[n, m, outputs]``, shap's expected values ``[outputs]`` and,
    with ``interactions``, the interaction values ``[n, m, m, outputs]`` (else None)."""
    if model_output != "raw":
        why = (
            "interactions=True needs the path-dependent variant, which"
            if interactions
            else "tree_shap with feature_perturbation='tree_path_dependent'"
        )
        fix = (
            "Explainer(..., output='log_odds') for a boosted classifier's margin, or "
            "output='raw'"
            if interactions
            else "feature_perturbation='interventional', or Explainer(..., output='raw')"
        )
        raise InvalidParameterError(
            f"{why} explains the model's raw output only, and this explainer explains "
            f"{view.output} (shap cannot transform path-dependent values). Use {fix}."
        )
    explainer = _explainer(shap, view, None, "tree_path_dependent", model_output)
    with warnings.catch_warnings():  # "output has changed to a list": handled by _outputs
        warnings.filterwarnings("ignore", "LightGBM binary", UserWarning)
        phi = _outputs(explainer.shap_values(rows, check_additivity=False))
        pairs = _pairs(explainer, rows, type(view.model).__name__) if interactions else None
    return phi, np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64)), pairs


def _pairs(explainer: Any, rows: np.ndarray, name: str) -> np.ndarray:
    """shap's interaction values of ``rows`` as ``[n, m, m, outputs]`` (``name``: the
    model's type, for the message)."""
    try:
        pairs = explainer.shap_interaction_values(rows)
    except Exception as err:  # shap asserts and raises bare Exceptions
        raise MethodNotApplicableError(
            f"shap's TreeExplainer cannot compute interaction values of this {name}: "
            f"{err or type(err).__name__}. "
            "Use tree_shap without interactions=True."
        ) from err
    if isinstance(pairs, list):  # older shap: one array per output
        pairs = np.stack(pairs, axis=-1)
    pairs = np.asarray(pairs, dtype=np.float64)
    return pairs[..., None] if pairs.ndim == 3 else pairs


def _import_shap() -> Any:
    try:
        import shap
    except ImportError as err:
        raise MissingDependencyError(
            "tree_shap uses shap's TreeExplainer; install it with `pip install shap`."
        ) from err
    return shap


def _explainer(
    shap: Any, view: TreeView, data: np.ndarray | None, mode: str, model_output: str
) -> Any:
    """shap's TreeExplainer for the view's model (its errors become xplain errors)."""
    try:
        return shap.TreeExplainer(
            view.model, data=data, feature_perturbation=mode, model_output=model_output
        )
    except Exception as err:  # shap raises bare Exceptions too
        raise MethodNotApplicableError(
            f"shap's TreeExplainer cannot explain this {type(view.model).__name__} "
            f"({mode}, model_output={model_output!r}): {err}. Use kernel_shap instead."
        ) from err


def _outputs(values: Any) -> np.ndarray:
    """shap values as ``[n, m, outputs]`` (shap gives ``[n, m]`` for one output)."""
    if isinstance(values, list):  # older shap: one array per output
        values = np.stack(values, axis=-1)
    values = np.asarray(values, dtype=np.float64)
    return values[..., None] if values.ndim == 2 else values
