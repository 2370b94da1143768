"""KernelSHAP: Shapley values as a weighted linear regression over sampled coalitions."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from xplain._validation import BOOLEAN, NONE, SEED, Interval, Param
from xplain.adapters.base import InterpretableView
from xplain.errors import InvalidParameterError
from xplain.methods.base import Attribution, PerturbationMethod
from xplain.methods.perturbation._sampling import (
    ShapleyDesign,
    evaluate_target,
    shapley_design,
    without_null_players,
)
from xplain.methods.perturbation._surrogate import constrained_wls
from xplain.registry import register_method

DEFAULT_RANDOM_EVALS = 2048  # on top of the 2 d singletons and leave-one-outs
CONVERGENCE_RATIO = 0.01  # converged: max std_err <= 1% of the largest |phi|


@register_method
class KernelShap(PerturbationMethod):
    """Shapley values estimated by the Shapley-kernel weighted regression.

    Lundberg and Lee (2017), "A Unified Approach to Interpreting Model Predictions"
    (NeurIPS); with the paired sampling, the exact efficiency constraint and the variance
    estimate of Covert and Lee (2021), "Improving KernelSHAP: Practical Shapley Value
    Estimation via Linear Regression" (AISTATS).

    The budget ``max_evals`` counts distinct coalitions sent to the model (default
    ``2 d + 2048``, shap's default: the ``2 d`` most-weighted coalitions, each feature
    alone and each feature left out, plus 2048 more). Coalition sizes are enumerated
    from the outside in while the budget allows, as shap does; the other sizes are
    sampled as antithetic pairs ``(z, 1 - z)`` (``paired=True``; unlike shap, also for the
    middle size ``d / 2``: 1.7-2x lower error than shap for even ``d`` in our tests),
    stratified by size: the same number of pairs per size (the leverage-score allocation
    of Musco and Witter 2024, "Provably Accurate Shapley Value Estimation via Leverage
    Score Sampling"), drawn without replacement, each distinct coalition weighted by its
    kernel weight over its inclusion probability (the corrected kernel weights of Olsen
    and Jullum 2024, "Improving the Sampling Strategy in KernelSHAP"); 5-20% lower error
    than i.i.d. draws with frequency weights on 14-16 interacting features, and more as
    the budget nears ``2^d``. Budgets too small for 2 pairs per size fall back to i.i.d.
    draws in proportion to kernel weight, duplicates evaluated once and merged. The
    regression enforces ``sum(phi) = f(x) - f(empty)`` exactly (KKT solution). When the
    budget covers all ``2^d - 2`` coalitions the result is the exact Shapley value.

    Diagnostics: ``std_err`` per feature, the standard error of the estimate from the
    sandwich covariance of the regression over the sampled pairs, within each size
    stratum with its finite-population correction, the enumerated coalitions held fixed
    (Covert and Lee 2021, Sec. 4); ``converged`` when
    ``max(std_err) <= 0.01 * max|phi|``; ``n_coalitions`` evaluated; ``exact``;
    ``efficiency_gap`` = ``|sum(phi) - (f(x) - f(empty))|``; ``null_players``, the number of
    features the view proved inert (value exactly 0, left out of the game, so a budget of
    ``2^d' - 2`` for the ``d'`` others already gives the exact answer).
    """

    name: ClassVar[str] = "kernel_shap"
    reference: ClassVar[str] = "Lundberg and Lee 2017, arXiv:1705.07874"
    parameters = {
        "max_evals": Param(
            None, Interval(int, 1), NONE, doc="distinct coalitions evaluated (None: 2 d + 2048)"
        ),
        "batch_size": Param(None, Interval(int, 1), NONE, doc="masks per model call"),
        "paired": Param(True, BOOLEAN, doc="sample coalitions with their complements"),
        "seed": Param(0, SEED, doc="seed of the sampled coalitions (None: not reproducible)"),
    }

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        game, players = without_null_players(view)
        phi, std_err, n, exact = self._estimate(game, target)
        values, errors = np.zeros(view.n_features), np.zeros(view.n_features)
        values[players], errors[players] = phi, std_err  # null players: exactly 0
        total = float(view.scores[target] - view.base_scores[target])
        diagnostics = _diagnostics(view, values, errors, n, exact, total)
        diagnostics["null_players"] = int(view.n_features - players.shape[0])
        return Attribution(values, diagnostics)

    def _estimate(
        self, view: InterpretableView, target: int
    ) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """Shapley values, their standard errors, coalitions evaluated, exactness."""
        d = view.n_features
        v0 = float(view.base_scores[target])
        total = float(view.scores[target]) - v0  # f(x) - f(empty)
        if d < 2:
            return np.full(d, total), np.zeros(d), 0, True

        budget = self.params["max_evals"] or 2 * d + DEFAULT_RANDOM_EVALS
        needed = min(2 * d, 2**d - 2)
        if budget < needed:
            why = "each feature alone and each left out" if needed == 2 * d else "every coalition"
            raise InvalidParameterError(
                f"The 'max_evals' parameter of kernel_shap must be at least {needed} for this "
                f"input of {d} features ({why}). Got {budget}. Raise max_evals or explain "
                "fewer features (e.g. words instead of sub-word tokens)."
            )
        rng = np.random.default_rng(self.params["seed"])
        design = shapley_design(d, budget, self.params["paired"], rng)
        # [u] model scores of the distinct coalitions, relative to the empty one
        y = evaluate_target(view, design.masks, target, self.params["batch_size"]) - v0
        phi, sensitivity = constrained_wls(design.masks, y, design.weights, total)
        std_err = _standard_errors(design, y, phi, sensitivity)
        return phi, std_err, int(design.masks.shape[0]), design.exact


def _diagnostics(
    view: InterpretableView,
    phi: np.ndarray,
    std_err: np.ndarray,
    n_coalitions: int,
    exact: bool,
    total: float,
) -> dict[str, Any]:
    scale = float(np.abs(phi).max(initial=0.0))
    return {
        "std_err": view.to_features(std_err),
        "converged": bool(std_err.max(initial=0.0) <= CONVERGENCE_RATIO * scale),
        "n_coalitions": int(n_coalitions),
        "exact": bool(exact),
        "efficiency_gap": float(abs(phi.sum() - total)),
    }


def _standard_errors(
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
