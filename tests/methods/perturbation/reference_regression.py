"""The KernelSHAP regression as xplain solved it before the factorised fit
(:mod:`xplain.methods.perturbation._shapley_fit`): one game at a time, the KKT system
inverted per call. Kept here as the tests' reference (the factorised fit must give the
same values, and the same standard errors times its degrees-of-freedom factor)."""

from __future__ import annotations

import math

import numpy as np

from xplain.methods.perturbation._sampling import ShapleyDesign
from xplain.methods.perturbation._surrogate import (
    MAX_INTERACTION_PLAYERS,
    interaction_basis,
    interaction_parameters,
)

INTERACTION_SAMPLES = 3  # the old path's threshold: coalitions per parameter for order 3


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
