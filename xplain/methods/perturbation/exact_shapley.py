"""Exact Shapley values by evaluating every coalition of the features."""

from __future__ import annotations

from functools import lru_cache
from math import factorial
from typing import ClassVar

import numpy as np

from xplain._validation import NONE, Interval, Param
from xplain.errors import InvalidParameterError
from xplain.methods._completeness import efficiency
from xplain.methods.base import Attribution, PerturbationMethod
from xplain.methods.perturbation._sampling import (
    all_coalitions,
    check_budget,
    evaluate_target,
    without_null_players,
)
from xplain.registry import register_method
from xplain.views import InterpretableView

MATRIX_PLAYERS = 14  # games up to this size use a cached [d, 2^d] matrix (1.8 MB at 14)


@register_method
class ExactShapley(PerturbationMethod):
    """Shapley values from all ``2^d`` coalitions: the reference the estimators are tested on.

    Shapley (1953), "A Value for n-Person Games"; with features as players and the view's
    masked model as the value function ``v(S)`` (Lundberg and Lee 2017; Strumbelj and
    Kononenko 2014):
    ``phi_i = sum_{S not containing i} |S|! (d - |S| - 1)! / d! (v(S + i) - v(S))``.
    The ``2^d - 2`` coalitions other than the empty and the full one (whose scores the
    view already holds) go through the model in batches of ``internal_batch_size`` masks.
    Null players flagged by the view (e.g. a column equal in the row and every background
    row) get 0 and are left out of the game. Refuses inputs with more than ``max_features``
    features (default 16, i.e. 65,534
    model evaluations); use ``kernel_shap`` for those. Coalitions whose model rows (times
    the background rows of a tabular game) exceed ``xplain.limits`` are refused up front.

    Diagnostics: ``efficiency_gap`` = ``|sum(phi) - delta|`` (rounding only), ``delta`` =
    ``f(x) - base_value``, ``base_value`` = ``f(empty)`` (over a background: its weighted
    mean score, the base value of every SHAP-family method).
    """

    name: ClassVar[str] = "exact_shapley"
    reference: ClassVar[str] = "Shapley 1953; Strumbelj and Kononenko 2014"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "max_features": Param(
            16, Interval(int, 1, 24), doc="refuse inputs with more features (2^d evaluations)"
        ),
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="masks per model call"),
    }

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        game, players = without_null_players(view)  # null players: exactly 0
        phi = np.zeros(view.n_features)
        phi[players] = self._shapley(game, target)
        return Attribution(phi, efficiency(phi, view.scores[target], view.base_scores[target]))

    def _shapley(self, view: InterpretableView, target: int) -> np.ndarray:
        d = view.n_features
        limit = self.params["max_features"]
        if d > limit:
            raise InvalidParameterError(
                f"exact_shapley evaluates all 2^d coalitions and this input has d={d} "
                f"features (2^{d} = {2**d:,} model evaluations), more than max_features="
                f"{limit}. Use method='kernel_shap' (a sampled estimate with standard "
                f"errors), or raise max_features up to 24 if you can afford it."
            )
        # 2^d - 2 coalitions to score; held at once: their masks and values [2^d, d + 8]
        fix = f"use method='kernel_shap' for {d} features"
        check_budget("exact_shapley", view, 2**d - 2, fix, floats_per_mask=1)
        masks = all_coalitions(d)  # [2^d, d], row k holds the bits of k
        v = np.empty(2**d)  # v[k] = score of coalition k
        v[0], v[-1] = view.base_scores[target], view.scores[target]
        if d >= 2:
            v[1:-1] = evaluate_target(view, masks[1:-1], target, self.params["internal_batch_size"])
        return shapley_from_values(v, d)


def shapley_from_values(v: np.ndarray, d: int) -> np.ndarray:
    """Shapley values ``[d]`` of the game whose coalition ``k`` (bits) is worth ``v[k]``."""
    if d <= MATRIX_PLAYERS:
        return shapley_matrix(d) @ v
    codes = np.arange(2**d, dtype=np.int64)
    sizes, weight = _sizes(codes, d), _marginal_weights(d)
    phi = np.empty(d)
    for i in range(d):
        without = codes[(codes >> i) & 1 == 0]  # [2^(d-1)] coalitions not containing i
        marginal = v[without | (1 << i)] - v[without]
        phi[i] = weight[sizes[without]] @ marginal
    return phi


@lru_cache(maxsize=MATRIX_PLAYERS + 1)
def shapley_matrix(d: int) -> np.ndarray:
    """The linear map ``[d, 2^d]`` from coalition values (indexed by their bits) to Shapley
    values (read-only, cached): ``M[i, S + i] = w(|S|)``, ``M[i, S] = -w(|S|)``."""
    codes = np.arange(2**d, dtype=np.int64)
    sizes, weight = _sizes(codes, d), _marginal_weights(d)
    matrix = np.zeros((d, 2**d))
    for i in range(d):
        without = codes[(codes >> i) & 1 == 0]
        matrix[i, without | (1 << i)] = weight[sizes[without]]
        matrix[i, without] = -weight[sizes[without]]
    matrix.setflags(write=False)
    return matrix


def _marginal_weights(d: int) -> np.ndarray:
    """Weight ``|S|! (d - |S| - 1)! / d!`` of a marginal over a coalition of each size ``[d]``."""
    return np.array([factorial(s) * factorial(d - s - 1) / factorial(d) for s in range(d)])


def _sizes(codes: np.ndarray, d: int) -> np.ndarray:
    return np.bitwise_count(codes) if hasattr(np, "bitwise_count") else _popcount(codes, d)


def _popcount(codes: np.ndarray, d: int) -> np.ndarray:
    return ((codes[:, None] >> np.arange(d)) & 1).sum(1)
