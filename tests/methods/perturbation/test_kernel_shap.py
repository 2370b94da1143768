"""kernel_shap against exact Shapley values, its own standard errors, and shap."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from reference_regression import constrained_wls
from synthetic_views import (
    function_view,
    interaction_model,
    interaction_view,
    linear_view,
    two_outputs,
)

from xplain.errors import InvalidParameterError, XplainError
from xplain.methods.perturbation._kernels import shapley_coalition_weight, shapley_size_mass
from xplain.methods.perturbation._sampling import all_coalitions, evaluate_target, shapley_design
from xplain.methods.perturbation._surrogate import interaction_basis
from xplain.methods.perturbation.exact_shapley import ExactShapley
from xplain.methods.perturbation.kernel_shap import KernelShap
from xplain.registry import get_method


def relative_error(values: np.ndarray, exact: np.ndarray) -> float:
    """Mean absolute error as a fraction of the mean |exact value|."""
    return float(np.abs(values - exact).mean() / np.abs(exact).mean())


def test_deterministic_under_a_seed(interaction_view16) -> None:
    first = KernelShap(max_evals=500, seed=3).attribute(interaction_view16, 1)
    again = KernelShap(max_evals=500, seed=3).attribute(interaction_view16, 1)
    other = KernelShap(max_evals=500, seed=4).attribute(interaction_view16, 1)
    np.testing.assert_array_equal(first.values, again.values)
    np.testing.assert_array_equal(first.diagnostics["std_err"], again.diagnostics["std_err"])
    assert not np.allclose(first.values, other.values)


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("paired", [True, False])
def test_efficiency_is_exact(interaction_view16, target: int, paired: bool) -> None:
    result = KernelShap(max_evals=300, paired=paired).attribute(interaction_view16, target)
    total = interaction_view16.scores[target] - interaction_view16.base_scores[target]
    assert abs(result.values.sum() - total) < 1e-6
    assert result.diagnostics["efficiency_gap"] < 1e-6


@pytest.mark.parametrize("max_evals", [2**8 - 2, None])
def test_equals_exact_when_the_budget_covers_every_coalition(max_evals: int | None) -> None:
    view = interaction_view(8, seed=2)
    exact = ExactShapley().attribute(view, 1).values
    result = KernelShap(max_evals=max_evals).attribute(interaction_view(8, seed=2), 1)
    np.testing.assert_allclose(result.values, exact, atol=1e-10)
    assert result.diagnostics["exact"] and result.diagnostics["converged"]
    assert result.diagnostics["n_coalitions"] == 2**8 - 2
    np.testing.assert_array_equal(result.diagnostics["std_err"], 0.0)


def test_converges_to_exact_on_16_interacting_features(interaction_view16, exact16) -> None:
    errors = {}
    for budget in (256, 1024, 4096):
        errors[budget] = np.mean(
            [
                relative_error(
                    KernelShap(max_evals=budget, seed=s).attribute(interaction_view16, 1).values,
                    exact16,
                )
                for s in range(3)
            ]
        )
    assert errors[4096] < 0.02
    assert errors[4096] < errors[1024] < errors[256]
    assert errors[256] / errors[4096] > 3  # about sqrt(16) = 4 for a 16x budget


def test_standard_errors_cover_the_true_error_at_the_nominal_rate(
    interaction_view16, exact16
) -> None:
    covered = []
    for seed in range(40):
        result = KernelShap(max_evals=1024, seed=seed).attribute(interaction_view16, 1)
        assert not result.diagnostics["exact"]
        covered.append(np.abs(result.values - exact16) <= 1.96 * result.diagnostics["std_err"])
    rate = np.mean(covered)  # 640 feature x seed checks
    assert 0.88 <= rate <= 0.99, rate


def test_converged_flag_follows_the_standard_errors(interaction_view16) -> None:
    small = KernelShap(max_evals=64).attribute(interaction_view16, 1).diagnostics
    large = KernelShap(max_evals=4096).attribute(interaction_view16, 1).diagnostics
    assert not small["converged"] and large["converged"]
    assert small["std_err"].max() > large["std_err"].max()


def test_linear_model_gives_weight_times_deviation_from_the_background_mean() -> None:
    view, expected = linear_view(30)
    result = KernelShap(max_evals=400).attribute(view, 1)
    np.testing.assert_allclose(result.values, expected, atol=1e-10)
    assert result.diagnostics["std_err"].max() < 1e-8  # residuals are zero


def test_budget_batches_and_no_duplicate_coalitions() -> None:
    view = interaction_view(10, seed=1)
    result = KernelShap(max_evals=600, batch_size=128).attribute(view, 1)
    evaluated = view.evaluated
    assert evaluated.shape[0] == result.diagnostics["n_coalitions"] <= 600
    assert evaluated.shape[0] >= 590  # duplicates are redrawn, the budget is spent
    assert len({row.tobytes() for row in evaluated}) == evaluated.shape[0]
    assert all(len(c) == 128 for c in view.calls[:-1])
    sizes = evaluated.sum(1)
    assert (sizes > 0).all() and (sizes < 10).all()


def test_design_enumerates_the_outer_sizes_and_weights_sum_to_one() -> None:
    design = shapley_design(16, 4096, True, np.random.default_rng(0))
    sizes = design.masks.sum(1)
    for s in (1, 2, 14, 15):  # C(16, 1) and C(16, 2) coalitions, and their complements
        assert (sizes == s).sum() == {1: 16, 2: 120, 14: 120, 15: 16}[s]
    assert design.weights.sum() == pytest.approx(1.0)
    assert design.masks.shape[0] == 4096
    first, second = design.masks[design.units[:, 0]], design.masks[design.units[:, 1]]
    np.testing.assert_array_equal(first, ~second)  # antithetic pairs


def test_stratified_design_beats_iid_frequency_weights() -> None:
    """Leverage-allocated, without-replacement strata vs i.i.d. kernel draws (old design)."""
    view = interaction_view(14, seed=3)
    exact = ExactShapley().attribute(view, 1).values
    v0 = float(view.base_scores[1])
    total = float(view.scores[1]) - v0

    def error(budget: int, seed: int, stratified: bool) -> float:
        design = shapley_design(14, budget, True, np.random.default_rng(seed), stratified)
        y = evaluate_target(view, design.masks, 1, None) - v0
        return relative_error(constrained_wls(design.masks, y, design.weights, total)[0], exact)

    for budget in (512, 2048, 8192):
        new = np.mean([error(budget, seed, True) for seed in range(12)])
        old = np.mean([error(budget, seed, False) for seed in range(12)])
        assert new < old, (budget, new, old)


def test_stratified_design_is_distinct_and_weighs_each_size_exactly() -> None:
    design = shapley_design(14, 8192, True, np.random.default_rng(0))
    assert design.strata is not None and design.masks.shape[0] == 8192
    assert len({row.tobytes() for row in design.masks}) == 8192
    sizes = design.masks.sum(1)
    mass = np.bincount(sizes, weights=design.weights, minlength=15)
    np.testing.assert_allclose(mass, shapley_size_mass(14), atol=1e-12)


def test_not_less_accurate_than_shap_kernel_explainer(interaction_view16, exact16) -> None:
    shap = pytest.importorskip("shap")
    logging.getLogger("shap").setLevel(logging.ERROR)
    rng = np.random.default_rng(0)  # the instance and background of interaction_view16
    x, background = rng.normal(size=16), rng.normal(size=(8, 16))
    model = interaction_model(16, 0)
    explainer = shap.KernelExplainer(lambda z: model(z)[:, 1], background)
    ours, theirs = [], []
    for seed in range(8):
        ours.append(
            relative_error(
                KernelShap(max_evals=1024, seed=seed).attribute(interaction_view16, 1).values,
                exact16,
            )
        )
        np.random.seed(seed)
        values = explainer.shap_values(x[None], nsamples=1024, l1_reg=False, silent=True)[0]
        theirs.append(relative_error(values, exact16))
    assert np.mean(ours) <= np.mean(theirs), (np.mean(ours), np.mean(theirs))


def test_one_feature_gets_the_whole_difference() -> None:
    view, expected = linear_view(1)
    result = KernelShap().attribute(view, 1)
    np.testing.assert_allclose(result.values, expected)
    assert result.diagnostics["exact"] and view.n_masks == 0


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match=r"'max_evals' parameter of kernel_shap"):
        KernelShap(max_evals=0)
    with pytest.raises(InvalidParameterError, match="'seed'"):
        KernelShap(seed=-1)
    with pytest.raises(InvalidParameterError, match="'paired'"):
        KernelShap(paired="yes")
    view, _ = linear_view(30)
    message = r"at least 60 for this input of 30 features.*Got 20"
    with pytest.raises(InvalidParameterError, match=message) as info:
        KernelShap(max_evals=20).attribute(view, 1)
    assert isinstance(info.value, XplainError) and view.n_masks == 0


def test_registered() -> None:
    assert get_method("kernel_shap") is KernelShap


def test_on_text_one_value_per_token_and_efficiency(text_explainer) -> None:
    text = "the plot is thin but the acting is superb and the music lovely"
    explanation = text_explainer.explain(text, method="kernel_shap", max_evals=256)
    view = text_explainer.adapter.interpretable_view(
        text_explainer.adapter.encode(text), text_explainer.output
    )
    target = explanation.target
    total = view.scores[target] - view.base_scores[target]
    assert len(explanation.values) == len(explanation.features)
    assert explanation.values[explanation.special].tolist() == [0.0, 0.0]
    assert explanation.values.sum() == pytest.approx(total, abs=1e-5)
    assert explanation.n_model_evals <= 256 + 3  # + prediction, full and empty
    assert explanation.diagnostics["std_err"].shape == explanation.values.shape


def test_paired_sampling_is_exact_on_a_game_of_order_two() -> None:
    """A model with pairwise interactions only: paired KernelSHAP recovers the exact values
    from 200 of 4094 coalitions (why ``order=2`` adds nothing when paired); unpaired it
    does not."""
    rng = np.random.default_rng(0)
    d = 12
    pairs, a, w = rng.choice(d, size=(30, 2)), rng.normal(size=30), rng.normal(size=d)

    def f(z: np.ndarray) -> np.ndarray:
        return two_outputs(z @ w + (a * z[:, pairs[:, 0]] * z[:, pairs[:, 1]]).sum(1))

    x, background = rng.normal(size=d), rng.normal(size=(4, d))
    exact = ExactShapley().attribute(function_view(f, x, background), 1).values
    paired = KernelShap(max_evals=200).attribute(function_view(f, x, background), 1)
    unpaired = KernelShap(max_evals=200, paired=False).attribute(function_view(f, x, background), 1)
    np.testing.assert_allclose(paired.values, exact, atol=1e-10)
    assert np.abs(unpaired.values - exact).max() > 0.05


def test_order_three_fit_is_exact_on_every_coalition_and_far_better_when_sampled() -> None:
    view = interaction_view(10)
    exact = ExactShapley().attribute(view, 1).values
    # all coalitions: the 3-additive fit's Shapley values are the exact ones
    masks = all_coalitions(10)[1:-1]
    weights = shapley_coalition_weight(10, masks.sum(1))
    y = evaluate_target(view, masks, 1, None) - view.base_scores[1]
    basis, to_shapley = interaction_basis(masks, 3)
    coef, _ = constrained_wls(basis, y, weights, view.scores[1] - view.base_scores[1])
    np.testing.assert_allclose(to_shapley @ coef, exact, atol=1e-10)
    # sampled (600 of 1022, 175 parameters): lower error, standard errors still cover
    errors, covered = {1: [], 3: []}, []
    for seed in range(40):
        for order in (1, 3):
            result = KernelShap(max_evals=600, seed=seed, order=order).attribute(view, 1)
            error = np.abs(result.values - exact)
            errors[order].append(error.mean())
            if order == 3:
                covered.append(error <= 1.96 * result.diagnostics["std_err"])
    assert np.mean(errors[3]) < 0.1 * np.mean(errors[1])
    assert 0.88 <= np.mean(covered) <= 0.99, np.mean(covered)


def test_order_three_needs_two_and_a_half_coalitions_per_parameter() -> None:
    """Below 2.5 x 175 coalitions a 10-player design keeps the additive fit."""
    view = interaction_view(10)
    small = KernelShap(max_evals=437, order=3).attribute(view, 1).values
    additive = KernelShap(max_evals=437, order=1).attribute(view, 1).values
    np.testing.assert_array_equal(small, additive)
    enough = KernelShap(max_evals=438, order=3).attribute(view, 1).values
    assert not np.allclose(enough, KernelShap(max_evals=438, order=1).attribute(view, 1).values)
