"""The factorised Shapley regression against the direct one, and its standard errors."""

from __future__ import annotations

import numpy as np
import pytest
from reference_regression import shapley_regression
from synthetic_views import interaction_view

from xplain.methods.perturbation._sampling import shapley_design
from xplain.methods.perturbation._shapley_fit import ShapleyFit, fitted_order
from xplain.methods.perturbation.exact_shapley import ExactShapley
from xplain.methods.perturbation.kernel_shap import KernelShap, _seeded_fit


@pytest.mark.parametrize(
    ("d", "budget", "paired", "stratified", "order"),
    [
        (16, 2048, True, True, 1),
        (16, 300, False, True, 1),
        (12, 200, True, False, 1),
        (10, 600, True, True, 3),  # 3.4 coalitions per parameter: both paths fit order 3
        (10, 1022, True, True, 3),  # every coalition: exact
    ],
)
def test_same_values_as_the_direct_regression(
    d: int, budget: int, paired: bool, stratified: bool, order: int
) -> None:
    """Values bitwise-close to ``shapley_regression``; standard errors the same times
    the degrees-of-freedom factor ``sqrt(u / (u - p))``."""
    design = shapley_design(d, budget, paired, np.random.default_rng(1), stratified=stratified)
    y = np.random.default_rng(2).normal(size=design.masks.shape[0])
    values, errors = shapley_regression(design, y, 1.3, order)
    fit = ShapleyFit.of(design, order)
    new_values, new_errors = fit.solve(y, 1.3)
    np.testing.assert_allclose(new_values, values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(new_errors, errors * np.sqrt(fit.dof_factor), rtol=1e-10)


def test_one_fit_serves_every_game_of_a_design() -> None:
    design = shapley_design(10, 600, True, np.random.default_rng(0))
    fit = ShapleyFit.of(design, 3)
    for seed in range(3):
        y = np.random.default_rng(seed).normal(size=design.masks.shape[0])
        np.testing.assert_allclose(
            fit.solve(y, 0.5)[0], shapley_regression(design, y, 0.5, 3)[0], atol=1e-12
        )


@pytest.mark.parametrize("seed", [7, [7, 2]])
def test_kernel_shap_uses_the_seeded_design_and_the_cache_changes_nothing(seed) -> None:
    view = interaction_view(12)
    first = KernelShap(max_evals=500, seed=seed).attribute(view, 1)
    _seeded_fit.cache_clear()
    again = KernelShap(max_evals=500, seed=seed).attribute(interaction_view(12), 1)
    np.testing.assert_array_equal(first.values, again.values)
    np.testing.assert_array_equal(first.diagnostics["std_err"], again.diagnostics["std_err"])
    design = shapley_design(12, 500, True, np.random.default_rng(seed))
    masks = design.masks
    y = np.asarray(view.evaluate(masks))[:, 1] - view.base_scores[1]
    direct, _ = shapley_regression(design, y, view.scores[1] - view.base_scores[1])
    np.testing.assert_allclose(first.values, direct, atol=1e-12)


def test_interaction_order_needs_enough_coalitions() -> None:
    design = shapley_design(10, 437, True, np.random.default_rng(0))  # 2.497 per parameter
    assert fitted_order(design, 3) == 1
    assert fitted_order(shapley_design(10, 438, True, np.random.default_rng(0)), 3) == 3
    assert fitted_order(design, 1) == 1


def test_order_three_standard_errors_cover_near_the_threshold() -> None:
    """At 2.5-3 coalitions per parameter (where the old rule kept the additive fit) the
    3-additive fit is far more accurate and its standard errors still cover."""
    view = interaction_view(10)
    exact = ExactShapley().attribute(view, 1).values
    covered, errors = [], {1: [], 3: []}
    for seed in range(30):
        for order in (1, 3):
            result = KernelShap(max_evals=460, seed=seed, order=order).attribute(view, 1)
            error = np.abs(result.values - exact)
            errors[order].append(error.mean())
            if order == 3:
                covered.append(error <= 1.96 * result.diagnostics["std_err"])
    assert np.mean(errors[3]) < 0.1 * np.mean(errors[1])
    assert 0.88 <= np.mean(covered) <= 0.995, np.mean(covered)
