"""Weighted linear surrogates: KernelSHAP's constrained least squares and LIME's ridge."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from xplain._blas import single_threaded_blas
from xplain.methods.perturbation._sampling import ShapleyDesign

SELECTIONS = ("auto", "forward_selection", "highest_weights")


@single_threaded_blas()
def constrained_wls(
    masks: np.ndarray, y: np.ndarray, weights: np.ndarray, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares ``min sum_j w_j (y_j - z_j . phi)^2`` s.t. ``sum(phi) = total``.

    Solved through its KKT system ``[[A, 1], [1', 0]] [phi; lam] = [b; total]`` with
    ``A = Z' W Z`` ``[d, d]`` and ``b = Z' W y`` ``[d]`` (Covert and Lee 2021, Eq. 7), so the
    constraint holds exactly, even when ``A`` alone is singular. Returns ``phi`` ``[d]``
    and the top-left ``[d, d]`` block of the KKT inverse, the matrix that maps a change of
    ``b - A phi`` to the change of ``phi`` (used for standard errors). ``masks`` may also be
    other features of the coalitions that are all 1 at the full one (products of present
    features): the constraint then says that the fit is worth ``total`` there.
    """
    z = np.asarray(masks, dtype=np.float64)  # [n, d]
    d = z.shape[1]
    weighted = z * weights[:, None]  # [n, d]
    kkt = np.zeros((d + 1, d + 1))
    kkt[:d, :d] = weighted.T @ z
    kkt[:d, d] = kkt[d, :d] = 1.0
    rhs = np.append(weighted.T @ y, total)  # [d + 1]
    try:
        inverse = np.linalg.inv(kkt)
    except np.linalg.LinAlgError:
        inverse = np.linalg.pinv(kkt)
    solution = inverse @ rhs
    return solution[:d], inverse[:d, :d]


@single_threaded_blas()
def design_standard_errors(
    design: ShapleyDesign,
    y: np.ndarray,
    coef: np.ndarray,
    inverse: np.ndarray,
    features: np.ndarray | None = None,
    to_shapley: np.ndarray | None = None,
) -> np.ndarray:
    """Per-feature standard error of KernelSHAP over its random draws ``[d]``.

    ``coef`` ``[p]`` are the regression's coefficients on ``features`` ``[u, p]`` of the
    coalitions (default: the masks themselves, ``coef = phi``), ``inverse`` ``[p, p]`` the
    KKT-inverse block ``C`` of :func:`constrained_wls` and ``to_shapley`` ``[d, p]`` the map
    from coefficients to Shapley values (default: identity). Linearising the constrained
    solution, ``phi_hat - phi ~= T C (b_n - A_n coef)``; only the sampled part of
    ``b_n - A_n coef`` is random, a weighted sum of ``u_j = mean over the unit's coalitions
    of x (y - x . coef) / (1 - h)`` (``x`` a coalition's features, ``h = w x' C x`` its
    leverage: the HC3 correction of MacKinnon and White 1985, which keeps the residuals of
    a fit with many parameters from understating the noise; a pair ``(z, 1 - z)`` is one
    unit). I.i.d. design: ``W / m * sum_j u_j``, hence
    ``Cov(phi_hat) ~= W^2 T C S C' T' / m`` with ``S`` the sample covariance of the ``m``
    units (the sandwich estimator, valid for paired draws because pairs, not coalitions,
    are independent). Stratified design (``n_h`` units drawn without replacement from the
    ``N_h`` of stratum ``h``, of mass ``W_h``): ``sum_h W_h / n_h sum_{j in h} u_j``, hence
    ``Cov ~= T C [sum_h W_h^2 (1 - n_h / N_h) S_h / n_h] C' T'`` with ``S_h`` the covariance
    within the stratum (Cochran 1977, Sampling Techniques, Thm 5.3).
    """
    units = design.units  # [m, k]
    sensitivity = inverse if to_shapley is None else to_shapley @ inverse  # [d, p]
    m, d = units.shape[0], sensitivity.shape[0]
    if design.exact:
        return np.zeros(d)
    if m < 2:
        return np.full(d, math.inf)
    k = units.shape[1]
    at = units.reshape(-1)  # [m k] the units' coalitions, unit by unit
    x = np.asarray(design.masks if features is None else features, dtype=np.float64)[at]
    leverage = design.weights[at] * np.einsum("ip,ip->i", x @ inverse, x)  # [m k]
    residual = (y[at] - x @ coef) / np.clip(1.0 - leverage, 1e-3, None)  # [m k]
    pulls = (x * residual[:, None]).reshape(m, k, -1).mean(1)  # [m, p]
    g = pulls @ sensitivity.T  # [m, d] each unit's pull on phi
    if design.strata is None:
        variance = design.sampled_mass**2 * g.var(axis=0, ddof=1) / m
    else:
        strata = design.strata
        member = (strata[None] == np.arange(design.stratum_mass.shape[0])[:, None]).astype(float)
        n_h = member.sum(1)  # [H] units per stratum (each >= 2)
        means = member @ g / n_h[:, None]  # [H, d]
        within = member @ (g - means[strata]) ** 2 / (n_h - 1)[:, None]  # [H, d] unit variance
        scale = design.stratum_mass**2 * (1.0 - n_h / design.stratum_units) / n_h  # [H]
        variance = scale @ within
    return np.sqrt(np.clip(variance, 0.0, None))

MAX_INTERACTION_PLAYERS = 16  # k-additive fits up to this many players (696 parameters)
INTERACTION_SAMPLES = 3  # ... when the design holds this many coalitions per parameter


def interaction_parameters(d: int, order: int) -> int:
    """Parameters of a k-additive game of ``d`` players: ``C(d, 1) + ... + C(d, order)``."""
    return sum(math.comb(d, k) for k in range(1, order + 1))


def shapley_regression(
    design: ShapleyDesign, y: np.ndarray, total: float, order: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values ``[d]`` and their standard errors ``[d]`` from a KernelSHAP design.

    ``order=1``: the Shapley-kernel regression fits an additive game (KernelSHAP).
    ``order`` 2 or 3: it fits a game with interactions up to that order (its Moebius
    coefficients under the same weights and constraint) and returns that game's Shapley
    values, ``phi_j = sum_{S containing j} c_S / |S|``: the k-additive approach of
    Pelegrina, Duarte and Grabisch (2023), "A k-additive Choquet integral-based approach
    to approximate the SHAP values for local interpretability in machine learning"
    (Artificial Intelligence). Like KernelSHAP it is exact once every coalition is in the
    design. It is used when the design holds ``INTERACTION_SAMPLES`` coalitions per
    parameter (and ``d <= MAX_INTERACTION_PLAYERS``), else the additive fit is. Paired
    sampling already makes KernelSHAP exact for games of order 2, so with ``paired=True``
    order 3 is the first that helps.
    """
    masks = design.masks
    d = masks.shape[1]
    fits = (
        order > 1
        and not design.exact
        and d <= MAX_INTERACTION_PLAYERS
        and masks.shape[0] >= INTERACTION_SAMPLES * interaction_parameters(d, order)
    )
    if fits:
        basis, to_shapley = interaction_basis(masks, order)
        coef, inverse = constrained_wls(basis, y, design.weights, total)
        errors = design_standard_errors(design, y, coef, inverse, basis, to_shapley)
        return to_shapley @ coef, errors
    phi, inverse = constrained_wls(masks, y, design.weights, total)
    return phi, design_standard_errors(design, y, phi, inverse)


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
