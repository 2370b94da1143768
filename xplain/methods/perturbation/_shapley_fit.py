"""The Shapley-kernel regression of one design, solved once and applied to many games.

KernelSHAP's estimate is linear in the coalition values: for a fixed design (coalitions,
weights, interaction order) the KKT system and its inverse, the leverage of each sampled
coalition and the pull of each on ``phi`` are the same for every game scored on it. The
rows of an ``explain_batch`` under one seed share one design (common random numbers), and
so do calls with the same seed and budget, so the fit is factorised once per design and
then costs a few matrix-vector products per row. This matters for the k-additive fit
(696 parameters at ``d = 16``, order 3), whose factorisation costs more than the model on
a cheap tabular game; the additive fit (``d`` parameters) is cheap either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xplain._blas import single_threaded_blas
from xplain.methods.perturbation._sampling import ShapleyDesign
from xplain.methods.perturbation._surrogate import (
    MAX_INTERACTION_PLAYERS,
    interaction_basis,
    interaction_parameters,
)

# a k-additive fit needs this many coalitions per parameter: with the degrees-of-freedom
# factor its standard errors covered 92-97% of checks (nominal 95%) from 2.4 on, 85-89%
# at 2.0, on 10 and 16 interacting features
INTERACTION_SAMPLES = 2.5


def fitted_order(design: ShapleyDesign, order: int) -> int:
    """The interaction order the regression fits on ``design``: ``order`` or 1.

    A k-additive fit (Pelegrina, Duarte and Grabisch 2023) is used when the design holds
    ``INTERACTION_SAMPLES`` coalitions per parameter (``C(d, 1) + ... + C(d, order)``) and
    ``d <= MAX_INTERACTION_PLAYERS``; otherwise the additive fit.

    Args:
        design: The coalitions and weights of the regression.
        order: The interaction order asked for (1 to 3).

    Returns:
        The order fitted.
    """
    n, d = design.masks.shape
    if order == 1 or design.exact or d > MAX_INTERACTION_PLAYERS:
        return 1
    return order if n >= INTERACTION_SAMPLES * interaction_parameters(d, order) else 1


@dataclass(frozen=True)
class ShapleyFit:
    """The regression of one design, factorised: :meth:`solve` maps a game's coalition
    values to its Shapley values and their standard errors.

    ``weighted`` ``[u, p]`` are the coalitions' regressors times their weights (``p = d``
    for the additive fit, the products of up to ``order`` present players otherwise),
    ``inverse`` ``[p + 1, p + 1]`` the inverse of the KKT matrix of the weighted least
    squares whose coefficients sum to ``v(full) - v(empty)``, ``to_shapley``
    ``[d, p]`` the map from coefficients to Shapley values (None: identity). For the
    sampled units' coalitions ``at`` ``[m k]``: their regressors ``unit_features``
    ``[m k, p]``, ``1 / (1 - leverage)`` as ``unit_scale`` ``[m k]`` (HC3, the leverage
    clipped below 0.999) and their pull on the Shapley values per unit of residual,
    ``unit_pull`` ``[m k, d]``.
    """

    design: ShapleyDesign
    order: int
    weighted: np.ndarray
    inverse: np.ndarray
    to_shapley: np.ndarray | None
    unit_features: np.ndarray
    unit_scale: np.ndarray
    unit_pull: np.ndarray

    @property
    def dof_factor(self) -> float:
        """``u / (u - p)``: the residuals of a fit of ``p`` parameters to ``u`` coalitions
        understate the noise by about this factor (degrees of freedom)."""
        u, p = self.weighted.shape
        return u / (u - p) if u > p else math.inf

    @classmethod  # not single-threaded: up to [u, 696] products, where BLAS threads pay
    def of(cls, design: ShapleyDesign, order: int = 1) -> ShapleyFit:
        """Factorise the regression of ``design`` at the order :func:`fitted_order` gives.

        Args:
            design: The coalitions and weights of the regression.
            order: The interaction order asked for (1 to 3).

        Returns:
            The factorised fit.
        """
        order = fitted_order(design, order)
        if order > 1:
            features, to_shapley = interaction_basis(design.masks, order)  # [u, p], [d, p]
        else:
            features, to_shapley = np.asarray(design.masks, dtype=np.float64), None
        p = features.shape[1]
        weighted = features * design.weights[:, None]  # [u, p]
        kkt = np.zeros((p + 1, p + 1))
        kkt[:p, :p] = weighted.T @ features
        kkt[:p, p] = kkt[p, :p] = 1.0
        try:
            inverse = np.linalg.inv(kkt)
        except np.linalg.LinAlgError:
            inverse = np.linalg.pinv(kkt)
        block = inverse[:p, :p]  # C: how a change of b - A coef moves coef
        sensitivity = block if to_shapley is None else to_shapley @ block  # [d, p]
        at = design.units.reshape(-1)  # [m k] the units' coalitions, unit by unit
        x = features[at]  # [m k, p]
        leverage = design.weights[at] * np.einsum("ip,ip->i", x @ block, x)
        scale = 1.0 / np.clip(1.0 - leverage, 1e-3, None)
        return cls(design, order, weighted, inverse, to_shapley, x, scale, x @ sensitivity.T)

    @single_threaded_blas()
    def solve(self, y: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
        """Shapley values ``[d]`` and standard errors ``[d]`` of one game.

        Args:
            y: Values ``[u]`` of the design's coalitions, relative to the empty one.
            total: ``v(full) - v(empty)``, which the values sum to exactly.

        Returns:
            The Shapley values of the fitted game and their standard errors over the
            design's random draws (see :meth:`_standard_errors`).
        """
        p = self.weighted.shape[1]
        solution = self.inverse @ np.append(self.weighted.T @ y, total)  # [p + 1]
        coef = solution[:p]
        phi = coef if self.to_shapley is None else self.to_shapley @ coef
        return phi, self._standard_errors(y, coef)

    def _standard_errors(self, y: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """Per-feature standard errors over the design's random draws ``[d]``.

        Linearising the constrained solution, ``phi_hat - phi ~= T C (b_n - A_n coef)``
        (``C`` the KKT-inverse block, ``T`` the map to Shapley values); only the sampled
        part of ``b_n - A_n coef`` is random, a weighted sum over units (a pair
        ``(z, 1 - z)`` is one unit) of the mean of ``x (y - x . coef) / (1 - h)`` over its
        coalitions, ``h = w x' C x`` the leverage (HC3: MacKinnon and White 1985). I.i.d.
        design: ``Cov ~= W^2 T C S C' T' / m``, ``S`` the units' sample covariance (the
        sandwich estimator). Stratified design (``n_h`` units without replacement from
        the ``N_h`` of stratum ``h``, of mass ``W_h``):
        ``Cov ~= T C [sum_h W_h^2 (1 - n_h / N_h) S_h / n_h] C' T'`` (Cochran 1977,
        Sampling Techniques, Thm 5.3; Covert and Lee 2021, Sec. 4). The variance is then
        scaled by :attr:`dof_factor`."""
        design = self.design
        units = design.units  # [m, k]
        m, k = units.shape
        d = self.unit_pull.shape[1]
        if design.exact:
            return np.zeros(d)
        if m < 2:
            return np.full(d, math.inf)
        residual = (y[units.reshape(-1)] - self.unit_features @ coef) * self.unit_scale
        g = (self.unit_pull * residual[:, None]).reshape(m, k, d).mean(1)  # [m, d]
        if design.strata is None:
            variance = design.sampled_mass**2 * g.var(axis=0, ddof=1) / m
        else:
            strata = design.strata
            member = (strata[None] == np.arange(design.stratum_mass.shape[0])[:, None]).astype(
                float
            )
            n_h = member.sum(1)  # [H] units per stratum (each >= 2)
            means = member @ g / n_h[:, None]  # [H, d]
            within = member @ (g - means[strata]) ** 2 / (n_h - 1)[:, None]  # [H, d]
            scale = design.stratum_mass**2 * (1.0 - n_h / design.stratum_units) / n_h  # [H]
            variance = scale @ within
        return np.sqrt(np.clip(variance * self.dof_factor, 0.0, None))
