"""Weighted linear surrogates: KernelSHAP's constrained least squares and LIME's ridge."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LinearRegression, Ridge

from xplain.methods.perturbation._sampling import ShapleyDesign

SELECTIONS = ("auto", "forward_selection", "highest_weights")


def constrained_wls(
    masks: np.ndarray, y: np.ndarray, weights: np.ndarray, total: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares ``min sum_j w_j (y_j - z_j . phi)^2`` s.t. ``sum(phi) = total``.

    Solved through its KKT system ``[[A, 1], [1', 0]] [phi; lam] = [b; total]`` with
    ``A = Z' W Z`` ``[d, d]`` and ``b = Z' W y`` ``[d]`` (Covert and Lee 2021, Eq. 7), so the
    constraint holds exactly, even when ``A`` alone is singular. Returns ``phi`` ``[d]``
    and the top-left ``[d, d]`` block of the KKT inverse, the matrix that maps a change of
    ``b - A phi`` to the change of ``phi`` (used for standard errors).
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


def design_standard_errors(
    design: ShapleyDesign, y: np.ndarray, phi: np.ndarray, sensitivity: np.ndarray
) -> np.ndarray:
    """Per-feature standard error of KernelSHAP over its random draws ``[d]``.

    Linearising the constrained solution, ``phi_hat - phi ~= C (b_n - A_n phi)`` where
    ``C`` is the KKT-inverse block; only the sampled part of ``b_n - A_n phi`` is random,
    a weighted sum of ``u_j = mean over the unit's coalitions of z (y - z . phi)`` (a pair
    ``(z, 1 - z)`` is one unit). I.i.d. design: ``W / m * sum_j u_j``, hence
    ``Cov(phi_hat) ~= W^2 C S C' / m`` with ``S`` the sample covariance of the ``m`` units
    (the sandwich estimator, valid for paired draws because pairs, not coalitions, are
    independent). Stratified design (``n_h`` units drawn without replacement from the
    ``N_h`` of stratum ``h``, of mass ``W_h``): ``sum_h W_h / n_h sum_{j in h} u_j``, hence
    ``Cov ~= C [sum_h W_h^2 (1 - n_h / N_h) S_h / n_h] C'`` with ``S_h`` the covariance
    within the stratum (Cochran 1977, Sampling Techniques, Thm 5.3).
    """
    units = design.units  # [m, k]
    m = units.shape[0]
    if design.exact:
        return np.zeros(phi.shape[0])
    if m < 2:
        return np.full(phi.shape[0], math.inf)
    z = design.masks.astype(np.float64)  # [u, d]
    residual = y - z @ phi  # [u]
    u = (z[units] * residual[units][..., None]).mean(1)  # [m, d]
    if design.strata is None:
        spread = design.sampled_mass**2 * np.cov(u, rowvar=False) / m  # [d, d]
    else:
        spread = np.zeros((phi.shape[0], phi.shape[0]))
        for h, (w, population) in enumerate(
            zip(design.stratum_mass, design.stratum_units, strict=True)
        ):
            block = u[design.strata == h]
            n_h = block.shape[0]
            spread += w**2 * (1.0 - n_h / population) * np.cov(block, rowvar=False) / n_h
    cov = sensitivity @ spread @ sensitivity.T
    return np.sqrt(np.clip(np.diag(cov), 0.0, None))


@dataclass
class LocalFit:
    """LIME's local surrogate: coefficients per feature (0 for unselected ones) and fit stats."""

    coef: np.ndarray  # [d]
    intercept: float
    score: float  # weighted R^2 on the neighbourhood
    local_prediction: float  # surrogate at row 0 (the instance)
    selected: np.ndarray  # int [k] features kept


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
