"""exact_shapley: the reference every Shapley estimator is tested against."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_views import (
    function_view,
    interaction_view,
    linear_view,
    permutation_shapley,
    two_outputs,
)

from xplain.errors import InvalidParameterError, XplainError
from xplain.methods.perturbation.exact_shapley import ExactShapley, shapley_from_values
from xplain.registry import get_method
from xplain.views import InterpretableView


@pytest.mark.parametrize("d", [2, 3, 5, 6])
@pytest.mark.parametrize("target", [0, 1])
def test_equals_the_permutation_average(d: int, target: int) -> None:
    view = interaction_view(d, seed=d)
    result = ExactShapley().attribute(view, target)
    np.testing.assert_allclose(result.values, permutation_shapley(view, target), atol=1e-12)


def test_additive_model_gives_each_term_minus_its_mean() -> None:
    rng = np.random.default_rng(0)
    terms = [np.sin, np.square, np.exp, np.tanh, lambda t: 3 * t, np.cos]
    x, background = rng.normal(size=6), rng.normal(size=(7, 6))

    def model(z: np.ndarray) -> np.ndarray:
        return two_outputs(sum(term(z[:, i]) for i, term in enumerate(terms)))

    expected = [term(x[i]) - term(background[:, i]).mean() for i, term in enumerate(terms)]
    values = ExactShapley().attribute(function_view(model, x, background), 1).values
    np.testing.assert_allclose(values, expected, atol=1e-12)


def test_linear_model_and_efficiency() -> None:
    view, expected = linear_view(9)
    result = ExactShapley().attribute(view, 1)
    np.testing.assert_allclose(result.values, expected, atol=1e-12)
    assert result.diagnostics["efficiency_gap"] < 1e-12


def test_efficiency_holds_with_interactions() -> None:
    view = interaction_view(12)
    result = ExactShapley().attribute(view, 0)
    total = view.scores[0] - view.base_scores[0]
    assert abs(result.values.sum() - total) < 1e-10
    assert result.diagnostics["efficiency_gap"] < 1e-10


def test_symmetric_and_dummy_players() -> None:
    """Players 0 and 1 enter symmetrically; player 2 is ignored by the model."""
    x, background = np.array([1.0, 1.0, 5.0, 2.0]), np.zeros((1, 4))

    def model(z: np.ndarray) -> np.ndarray:
        return two_outputs(z[:, 0] * z[:, 1] * z[:, 3] + z[:, 3])

    values = ExactShapley().attribute(function_view(model, x, background), 1).values
    assert values[0] == pytest.approx(values[1])
    assert values[2] == 0.0


def test_every_coalition_evaluated_once_in_batches() -> None:
    view = interaction_view(7)
    ExactShapley(batch_size=50).attribute(view, 1)
    evaluated = view.evaluated
    assert evaluated.shape[0] == 2**7 - 2  # empty and full come from the view
    assert len({row.tobytes() for row in evaluated}) == evaluated.shape[0]
    assert [len(c) for c in view.calls] == [50, 50, 26]


def test_one_and_zero_features() -> None:
    view, expected = linear_view(1)
    np.testing.assert_allclose(ExactShapley().attribute(view, 1).values, expected)
    assert view.n_masks == 0


def test_shapley_from_values_on_a_glove_game() -> None:
    """Glove game: player 0 owns a left glove, players 1 and 2 a right one -> (2/3, 1/6, 1/6)."""
    codes = np.arange(8)
    v = ((codes & 1) > 0) & ((codes & 6) > 0)
    np.testing.assert_allclose(shapley_from_values(v.astype(float), 3), [2 / 3, 1 / 6, 1 / 6])


def test_too_many_features_is_refused_before_any_evaluation() -> None:
    view, _ = linear_view(20)
    with pytest.raises(InvalidParameterError, match=r"d=20.*kernel_shap") as info:
        ExactShapley().attribute(view, 1)
    assert isinstance(info.value, XplainError)
    assert view.n_masks == 0


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="'max_features' parameter of exact_shapley"):
        ExactShapley(max_features=30)
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        ExactShapley(batch_size=0)


def test_registered() -> None:
    assert get_method("exact_shapley") is ExactShapley
    assert ExactShapley.family == "perturbation" and ExactShapley.view is InterpretableView


def test_on_text_equals_full_budget_kernel_shap(text_explainer) -> None:
    text = "a gripping, well acted film"
    exact = text_explainer.explain(text, method="exact_shapley", target=1)
    kernel = text_explainer.explain(text, method="kernel_shap", target=1)
    assert kernel.diagnostics["exact"]
    np.testing.assert_allclose(exact.values, kernel.values, atol=1e-6)
    assert exact.values[exact.special].tolist() == [0.0, 0.0]
