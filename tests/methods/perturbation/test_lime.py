"""lime: its neighbourhoods, kernel and ridge surrogate, checked against the lime package."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from synthetic_views import function_view, interaction_view, linear_view, two_outputs

from xplain.errors import InvalidParameterError
from xplain.methods.perturbation._kernels import cosine_distance_to_full, exponential_kernel
from xplain.methods.perturbation._neighbourhood import neighbourhood
from xplain.methods.perturbation._sampling import lime_masks
from xplain.methods.perturbation._surrogate import ridge_surrogate
from xplain.methods.perturbation.lime import Lime
from xplain.registry import get_method
from xplain.views import Distribution, TrainingData


def lime_kernel(d: np.ndarray, kernel_width: float) -> np.ndarray:
    """lime's default kernel, as lime_text / lime_tabular define it."""
    return np.sqrt(np.exp(-(d**2) / kernel_width**2))


def test_deterministic_under_a_seed() -> None:
    view = interaction_view(10)
    first = Lime(num_samples=300, seed=5).attribute(view, 1)
    again = Lime(num_samples=300, seed=5).attribute(view, 1)
    other = Lime(num_samples=300, seed=6).attribute(view, 1)
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.allclose(first.values, other.values)


def test_linear_model_recovers_weight_times_deviation_up_to_ridge_shrinkage() -> None:
    """Masks replace absent features by the background mean, so f is linear in the mask.

    The weighted ridge then returns ``(Zc' W Zc + I)^-1 Zc' W Zc beta`` exactly, for
    ``beta = w (x - mu)`` and ``Zc`` the weighted-centred masks: ``beta`` shrunk slightly.
    """
    view, beta = linear_view(12)
    result = Lime(num_samples=1000, seed=4, sampling="iid").attribute(view, 1)
    masks = lime_masks(1000, 12, np.random.default_rng(4)).astype(float)  # same draws
    weights = exponential_kernel(100 * cosine_distance_to_full(masks.astype(bool)), 25.0)
    centred = masks - np.average(masks, axis=0, weights=weights)
    gram = centred.T @ (weights[:, None] * centred)
    shrunk = np.linalg.solve(gram + np.eye(12), gram @ beta)
    np.testing.assert_allclose(result.values, shrunk, atol=1e-9)
    np.testing.assert_allclose(result.values, beta, rtol=0.03, atol=2e-3)
    assert result.diagnostics["score"] > 0.999
    assert result.diagnostics["local_prediction"] == pytest.approx(
        result.diagnostics["prediction"], abs=0.05
    )
    assert result.diagnostics["prediction"] == view.scores[1]
    assert result.diagnostics["kernel_width"] == 25.0


def test_text_neighbourhood_follows_lime_text() -> None:
    masks = lime_masks(4000, 9, np.random.default_rng(0))
    assert masks[0].all()
    removed = 9 - masks[1:].sum(1)
    assert removed.min() == 1 and removed.max() == 9  # uniform over 1..d, as lime_text
    counts = np.bincount(removed, minlength=10)[1:]
    assert counts.min() > 0.8 * counts.mean()
    from sklearn.metrics import pairwise_distances

    reference = pairwise_distances(masks.astype(float), masks[:1].astype(float), "cosine")
    np.testing.assert_allclose(cosine_distance_to_full(masks), reference.ravel(), atol=1e-12)
    distances = 100 * reference.ravel()
    np.testing.assert_allclose(exponential_kernel(distances, 25), lime_kernel(distances, 25))


@pytest.mark.parametrize(
    ("num_features", "selection"),
    [(None, "auto"), (3, "auto"), (3, "forward_selection"), (8, "auto"), (4, "highest_weights")],
)
def test_surrogate_equals_lime_base(num_features: int | None, selection: str) -> None:
    from lime.lime_base import LimeBase

    rng = np.random.default_rng(0)
    data = lime_masks(400, 12, rng).astype(float)
    y = data @ rng.normal(size=12) + 0.5 * data[:, 0] * data[:, 1] + rng.normal(size=400) * 0.1
    distances = 100 * cosine_distance_to_full(data.astype(bool))
    base = LimeBase(partial(lime_kernel, kernel_width=25.0), random_state=0)
    labels = np.stack([-y, y], axis=1)
    lime_selection = selection if num_features else "none"  # lime's way to keep all
    intercept, pairs, score, local = base.explain_instance_with_data(
        data, labels, distances, 1, num_features or 12, feature_selection=lime_selection
    )
    fit = ridge_surrogate(data, y, exponential_kernel(distances, 25.0), num_features, selection)
    expected = np.zeros(12)
    for feature, coef in pairs:
        expected[feature] = coef
    np.testing.assert_allclose(fit.coef, expected, atol=1e-10)
    assert sorted(fit.selected.tolist()) == sorted(int(f) for f, _ in pairs)
    assert fit.intercept == pytest.approx(intercept)
    assert fit.score == pytest.approx(score)
    assert fit.local_prediction == pytest.approx(local[0])


def test_top_k_features_keep_the_largest_effects() -> None:
    view, expected = linear_view(10, seed=3)
    values = Lime(num_samples=800, num_features=3).attribute(view, 1).values
    assert np.count_nonzero(values) == 3
    top = np.argsort(-np.abs(expected))[:3]
    assert set(np.flatnonzero(values)) == set(top)


def gaussian_neighbourhood_view(d: int, seed: int = 0):
    """A view carrying training data: LIME draws Gaussian rows from its mean and std and
    represents them in standardised units (``discretize_continuous=False``)."""
    rng = np.random.default_rng(seed)
    w, x = rng.normal(size=d), rng.normal(size=d)
    training = rng.normal(size=(300, d)) * rng.uniform(0.5, 2, size=d)  # [N, d]
    view, _ = linear_view(d)  # masks are not used when the view carries training data
    view.distribution = Distribution(
        TrainingData(training, np.zeros(d, dtype=bool)), x, lambda rows: two_outputs(rows @ w)
    )
    return view, w * training.std(0)


def test_neighbourhood_view_uses_its_distances_and_lime_tabular_width() -> None:
    from lime.lime_base import LimeBase

    view, slopes = gaussian_neighbourhood_view(6)
    result = Lime(num_samples=600, seed=2, discretize_continuous=False).attribute(view, 1)
    assert view.n_masks == 0  # the training data was sampled, not masks
    width = 0.75 * math.sqrt(6)
    assert result.diagnostics["kernel_width"] == pytest.approx(width)
    np.testing.assert_allclose(result.values, slopes, rtol=0.02)
    # the same neighbourhood through lime's own surrogate
    hood = neighbourhood(
        view.distribution,
        600,
        np.random.default_rng(2),
        discretize=False,
        discretizer="quartile",
        sample_around_instance=False,
    )
    base = LimeBase(partial(lime_kernel, kernel_width=width))
    _, pairs, score, _ = base.explain_instance_with_data(
        hood.representation, hood.scores, hood.distances, 1, 6, feature_selection="none"
    )
    expected = np.zeros(6)
    for feature, coef in pairs:
        expected[feature] = coef
    np.testing.assert_allclose(result.values, expected, atol=1e-10)
    assert result.diagnostics["score"] == pytest.approx(score)


def test_distinct_masks_are_evaluated_once() -> None:
    view, _ = linear_view(4)
    Lime(num_samples=500).attribute(view, 1)
    assert view.n_masks <= 2**4 - 1  # 499 samples, at most 15 distinct non-full masks


def test_kernel_width_changes_the_weights() -> None:
    rng = np.random.default_rng(0)
    x, background = rng.normal(size=5), rng.normal(size=(3, 5))
    view = function_view(lambda z: two_outputs(np.tanh(z).prod(1) + z[:, 0] ** 2), x, background)
    wide = Lime(num_samples=400, kernel_width=1e6).attribute(view, 1)
    narrow = Lime(num_samples=400, kernel_width=10.0).attribute(view, 1)
    assert wide.diagnostics["kernel_width"] == 1e6
    assert not np.allclose(wide.values, narrow.values)


def test_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match=r"'num_samples' parameter of lime .*Got 1"):
        Lime(num_samples=1)
    with pytest.raises(InvalidParameterError, match="'kernel_width'"):
        Lime(kernel_width=0.0)
    with pytest.raises(InvalidParameterError, match="'feature_selection'.*forward_selection"):
        Lime(feature_selection="lasso")
    with pytest.raises(InvalidParameterError, match="'num_features'"):
        Lime(num_features=0)


def test_registered() -> None:
    assert get_method("lime") is Lime


def test_on_text_gives_one_value_per_non_special_token(text_explainer) -> None:
    text = "a gripping, well acted film"
    explanation = text_explainer.explain(text, method="lime", num_samples=300)
    tokens = explanation.features
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert len(explanation.values) == len(tokens)
    assert explanation.values[explanation.special].tolist() == [0.0, 0.0]
    assert np.count_nonzero(explanation.values[~explanation.special]) == len(tokens) - 2
    assert explanation.diagnostics["kernel_width"] == 25.0
    assert explanation.n_model_evals <= 2**6 + 2  # 6 tokens: at most 63 distinct masks
    again = text_explainer.explain(text, method="lime", num_samples=300)
    np.testing.assert_array_equal(explanation.values, again.values)
