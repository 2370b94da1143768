"""Removal-based faithfulness metrics on an additive model whose true attribution is known."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from vector_models import linear_module, vector_explainer, with_values

from xplain import metrics
from xplain.errors import InvalidParameterError

N_RANDOM = 20


def _truth(additive):
    explainer, x, _, truth = additive
    explanation = explainer.explain(x, "integrated_gradients", target=1)
    np.testing.assert_allclose(explanation.values, truth, atol=1e-10)  # IG is exact here
    return explainer, explanation, truth


def _random(explanation, seed):
    return with_values(explanation, np.random.default_rng(100 + seed).normal(size=12))


def test_deletion_and_insertion_curves_have_their_closed_form(additive):
    explainer, explanation, truth = _truth(additive)
    order = np.argsort(-truth)
    full = truth.sum()  # f(x) = w . x; f(nothing) = 0

    deletion = metrics.deletion_curve(explainer, explanation)
    expected = full - np.concatenate([[0.0], np.cumsum(truth[order])])
    np.testing.assert_allclose(deletion.to_numpy(), expected, atol=1e-10)
    np.testing.assert_allclose(deletion.index, np.arange(13) / 12)
    trapezoids = ((expected[1:] + expected[:-1]) / 2).sum() / 12
    assert metrics.deletion_auc(explainer, explanation) == pytest.approx(trapezoids)

    insertion = metrics.insertion_curve(explainer, explanation)
    np.testing.assert_allclose(insertion.to_numpy(), np.cumsum(np.r_[0.0, truth[order]]))

    coarse = metrics.deletion_curve(explainer, explanation, n_steps=3)
    np.testing.assert_allclose(coarse.index, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(coarse.to_numpy(), expected[[0, 4, 8, 12]], atol=1e-10)


def test_eraser_rationales_are_the_top_ceil_k_d_features(additive):
    explainer, explanation, truth = _truth(additive)
    top = np.sort(truth)[::-1]
    sizes = [1, 1, 2, 3, 6]  # ceil(k * 12) for k = 1, 5, 10, 20, 50 %
    comp = metrics.comprehensiveness_curve(explainer, explanation)
    np.testing.assert_allclose(comp.to_numpy(), [top[:s].sum() for s in sizes], atol=1e-10)
    suff = metrics.sufficiency_curve(explainer, explanation)
    np.testing.assert_allclose(suff.to_numpy(), [top[s:].sum() for s in sizes], atol=1e-10)
    assert metrics.comprehensiveness(explainer, explanation) == pytest.approx(comp.mean())
    assert metrics.sufficiency(explainer, explanation) == pytest.approx(suff.mean())
    whole = metrics.sufficiency_curve(explainer, explanation, fractions=(1.0,))
    assert whole.iloc[0] == pytest.approx(0.0, abs=1e-10)


def test_true_attribution_beats_random_ones_on_every_removal_metric(additive):
    explainer, explanation, _ = _truth(additive)
    true = {
        "deletion": metrics.deletion_auc(explainer, explanation),
        "insertion": metrics.insertion_auc(explainer, explanation),
        "comprehensiveness": metrics.comprehensiveness(explainer, explanation),
        "sufficiency": metrics.sufficiency(explainer, explanation),
        "correlation": metrics.faithfulness_correlation(explainer, explanation),
    }
    assert true["correlation"] == pytest.approx(1.0)
    for seed in range(N_RANDOM):
        noise = _random(explanation, seed)
        assert true["deletion"] < metrics.deletion_auc(explainer, noise)  # lower is better
        assert true["insertion"] > metrics.insertion_auc(explainer, noise)
        # ERASER's small rationales can coincide with the truth's: never worse, on average better
        assert true["comprehensiveness"] >= metrics.comprehensiveness(explainer, noise) - 1e-12
        assert true["sufficiency"] <= metrics.sufficiency(explainer, noise) + 1e-12
        assert true["correlation"] > metrics.faithfulness_correlation(explainer, noise)


def test_random_attribution_has_faithfulness_correlation_near_zero(additive):
    explainer, explanation, _ = _truth(additive)
    scores = [
        metrics.faithfulness_correlation(explainer, _random(explanation, seed), seed=seed)
        for seed in range(100)
    ]
    assert abs(np.mean(scores)) < 0.07  # one run's spread is about 0.3: 0.03 on the mean
    assert np.std(scores) > 0.1


def test_faithfulness_correlation_is_seeded(additive):
    explainer, explanation, _ = _truth(additive)
    noise = _random(explanation, 0)
    first = metrics.faithfulness_correlation(explainer, noise, seed=3)
    assert metrics.faithfulness_correlation(explainer, noise, seed=3) == first
    assert metrics.faithfulness_correlation(explainer, noise, seed=4) != first


def test_infidelity_is_zero_for_the_truth_and_scaling_forgives_scale_not_sign(additive):
    explainer, explanation, truth = _truth(additive)
    assert metrics.infidelity(explainer, explanation) == pytest.approx(0.0, abs=1e-20)
    doubled = with_values(explanation, 2 * truth)
    assert metrics.infidelity(explainer, doubled) == pytest.approx(0.0, abs=1e-20)
    unscaled = metrics.infidelity(explainer, doubled, scaled=False)
    assert unscaled > 0.1
    # unscaled, the error of 2a is (I.a)^2, i.e. the squared drop itself
    zero = with_values(explanation, 0 * truth)
    assert unscaled == pytest.approx(metrics.infidelity(explainer, zero, scaled=False))
    reversed_ = metrics.infidelity(explainer, with_values(explanation, -truth))
    assert reversed_ == pytest.approx(unscaled)  # beta clipped at 0: E[drop^2]
    for seed in range(5):
        assert metrics.infidelity(explainer, _random(explanation, seed)) > 0.1


def test_completeness_gap(additive):
    explainer, explanation, truth = _truth(additive)
    assert metrics.completeness_gap(explainer, explanation) == pytest.approx(0.0, abs=1e-9)
    saliency = explainer.explain(additive[1], "saliency", target=1)
    assert math.isnan(metrics.completeness_gap(explainer, saliency))
    shap = explainer.explain(additive[1], "kernel_shap", target=1)
    assert "completeness_gap" not in shap.diagnostics
    assert metrics.completeness_gap(explainer, shap) == pytest.approx(0.0, abs=1e-9)
    inflated = with_values(shap, 1.1 * truth)
    assert metrics.completeness_gap(explainer, inflated) == pytest.approx(0.1)


def test_special_features_are_never_removed_nor_ranked():
    rng = np.random.default_rng(1)
    w, x = rng.normal(size=8), rng.normal(size=8)
    special = np.zeros(8, dtype=bool)
    special[0] = True
    explainer = vector_explainer(linear_module(w), special)
    explanation = explainer.explain(x, "integrated_gradients", target=1)
    assert explanation.values[0] == 0.0  # its baseline is the input itself
    loud = with_values(explanation, np.r_[1e6, explanation.values[1:]])
    for name in ("deletion_auc", "insertion_auc", "comprehensiveness", "faithfulness_correlation"):
        function = metrics.METRICS[name].function
        assert function(explainer, loud) == pytest.approx(function(explainer, explanation))
    curve = metrics.deletion_curve(explainer, explanation)
    assert len(curve) == 8  # 7 removable features + the start
    assert curve.iloc[-1] == pytest.approx(w[0] * x[0])  # the special feature stays


def test_bad_parameters_are_rejected_with_the_uniform_message(additive):
    explainer, explanation, _ = _truth(additive)
    with pytest.raises(InvalidParameterError, match="'n_steps' parameter of deletion_auc"):
        metrics.deletion_auc(explainer, explanation, n_steps=0)
    with pytest.raises(InvalidParameterError, match="'fractions' parameter of sufficiency"):
        metrics.sufficiency(explainer, explanation, fractions=(0.0, 0.5))
    with pytest.raises(InvalidParameterError, match="smaller than the number of features"):
        metrics.faithfulness_correlation(explainer, explanation, subset_size=12)
    with pytest.raises(InvalidParameterError, match="'p_remove' parameter of infidelity"):
        metrics.infidelity(explainer, explanation, p_remove=1.0)
    renamed = replace(explanation, features=[f"f{i}" for i in range(12)])
    with pytest.raises(InvalidParameterError, match="different ones"):
        metrics.deletion_auc(explainer, renamed)  # not what this explainer encodes
    with pytest.raises(InvalidParameterError, match="does not carry its instance"):
        metrics.deletion_auc(explainer, replace(explanation, instance=None))
