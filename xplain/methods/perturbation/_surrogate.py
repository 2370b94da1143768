"""Weighted linear surrogates: the interaction basis of KernelSHAP's k-additive fit and
LIME's ridge."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from xplain._blas import single_threaded_blas

SELECTIONS = ("auto", "forward_selection", "highest_weights")
MAX_INTERACTION_PLAYERS = 16  # k-additive fits up to this many players (696 parameters)


def interaction_parameters(d: int, order: int) -> int:
    """Parameters of a k-additive game of ``d`` players: ``C(d, 1) + ... + C(d, order)``."""
    return sum(math.comb(d, k) for k in range(1, order + 1))


def interaction_basis(masks: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Products of up to ``order`` present features ``[n, p]``, and the map ``[d, p]`` from
    their coefficients to Shapley values (a product shares its coefficient among its
    features)."""
    z = np.asarray(masks, dtype=np.float64)
    d = z.shape[1]
    columns, maps = [], []
    for k in range(1, order + 1):
        sets = np.array(list(combinations(range(d), k)), dtype=np.int64).reshape(-1, k)
        columns.append(z[:, sets].prod(axis=2))  # [n, C(d, k)]
        to_shapley = np.zeros((d, sets.shape[0]))
        to_shapley[sets, np.arange(sets.shape[0])[:, None]] = 1.0 / k
        maps.append(to_shapley)
    return np.concatenate(columns, axis=1), np.concatenate(maps, axis=1)


@dataclass
class LocalFit:
    """LIME's local surrogate: coefficients per feature (0 for unselected ones) and fit stats."""

    coef: np.ndarray  # [d]
    intercept: float
    score: float  # weighted R^2 on the neighbourhood
    local_prediction: float  # surrogate at row 0 (the instance)
    selected: np.ndarray  # int [k] features kept


@single_threaded_blas()
def ridge_surrogate(
    data: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    num_features: int | None,
    selection: str,
    alpha: float = 1.0,
) -> LocalFit:
    """Weighted ``Ridge(alpha)`` on ``data`` ``[n, d]`` (row 0 the instance), as LIME fits it.

    With ``num_features`` set, the features are first chosen as ``lime.lime_base``
    chooses them (``selection``): greedy forward selection by weighted R^2,
    ``highest_weights`` (largest ``|coef * data[0]|`` of a ``Ridge(0.01)`` on all
    features), or ``auto`` (forward selection up to 6 features, highest weights above).
    """
    from sklearn.linear_model import Ridge  # sklearn only when LIME fits

    d = data.shape[1]
    if num_features is None or num_features >= d:
        selected = np.arange(d)
    else:
        if selection == "auto":
            selection = "forward_selection" if num_features <= 6 else "highest_weights"
        if selection == "forward_selection":
            selected = _forward_selection(data, y, weights, num_features)
        else:
            probe = Ridge(alpha=0.01).fit(data, y, sample_weight=weights)
            order = np.argsort(-np.abs(probe.coef_ * data[0]), kind="stable")
            selected = order[:num_features]
    model = Ridge(alpha=alpha).fit(data[:, selected], y, sample_weight=weights)
    coef = np.zeros(d)
    coef[selected] = model.coef_
    return LocalFit(
        coef=coef,
        intercept=float(model.intercept_),
        score=float(model.score(data[:, selected], y, sample_weight=weights)),
        local_prediction=float(model.predict(data[:1, selected])[0]),
        selected=np.asarray(selected),
    )


def _forward_selection(
    data: np.ndarray, y: np.ndarray, weights: np.ndarray, num_features: int
) -> np.ndarray:
    """Add, one at a time, the feature that most raises the weighted R^2 of an OLS fit."""
    from sklearn.linear_model import LinearRegression

    used: list[int] = []
    for _ in range(num_features):
        best, best_score = -1, -np.inf
        for feature in range(data.shape[1]):
            if feature in used:
                continue
            columns = data[:, [*used, feature]]
            fit = LinearRegression().fit(columns, y, sample_weight=weights)
            score = fit.score(columns, y, sample_weight=weights)
            if score > best_score:
                best, best_score = feature, score
        used.append(best)
    return np.array(used)
