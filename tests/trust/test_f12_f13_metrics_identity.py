"""Findings 12, 13 and 10 (metric side): metrics refuse explanations of another model,
instance or feature count, and non-finite values; agreement is NaN, with a reason, where
it is undefined (all-zero, constant or float-noise explanations, top-k decided by ties)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import metrics
from xplain.errors import InvalidInputError, UndefinedMeasureWarning

SIZE = 16
IMAGE = np.random.default_rng(0).random((SIZE, SIZE, 3))
OTHER_IMAGE = np.random.default_rng(1).random((SIZE, SIZE, 3))
ALL_AGREEMENT = {"spearman", "kendall", "top_k_jaccard", "sign_agreement"}


def _cnn(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * SIZE * SIZE, 3),
    )


@pytest.fixture(scope="module")
def image_pair():
    """Two explainers of two different CNNs, and a saliency explanation by the first."""
    first = xplain.Explainer(_cnn(0), modality="image")
    second = xplain.Explainer(_cnn(1), modality="image")
    return first, second, first.explain(IMAGE, "saliency")


SCALAR_METRICS = [
    metrics.deletion_auc,
    metrics.insertion_auc,
    metrics.comprehensiveness,
    metrics.sufficiency,
    metrics.faithfulness_correlation,
    metrics.infidelity,
    metrics.completeness_gap,
    metrics.max_sensitivity,
    metrics.model_parameter_randomisation,
]


@pytest.mark.parametrize("metric", SCALAR_METRICS, ids=lambda f: f.__name__)
def test_f12_metrics_refuse_an_explanation_of_another_model(image_pair, metric):
    first, second, explanation = image_pair
    calls = second.adapter.n_model_evals
    with pytest.raises(InvalidInputError, match="another model"):
        metric(second, explanation)
    assert second.adapter.n_model_evals == calls  # refused before scoring model B on it
    metric(first, explanation)  # its own explainer: accepted


def test_f12_metrics_refuse_an_explanation_of_another_instance(image_pair):
    first, _, explanation = image_pair
    moved = replace(explanation, instance=OTHER_IMAGE)  # values of IMAGE, pixels of another
    with pytest.raises(InvalidInputError, match="not the one it explained"):
        metrics.deletion_auc(first, moved)
    with pytest.raises(InvalidInputError, match="not the one it explained"):
        metrics.max_sensitivity(first, moved)


def test_f12_metrics_refuse_values_that_do_not_match_the_feature_count(image_pair):
    first, _, explanation = image_pair
    short = replace(explanation, values=np.ones(100))  # 100 values for 256 pixels
    with pytest.raises(InvalidInputError, match="100 values .* for 256 features"):
        metrics.deletion_auc(first, short)
    with pytest.raises(InvalidInputError, match="100 values"):
        metrics.rank_agreement(explanation, short)
    # a hand-made explanation (no identity) with the right features is still evaluated
    anonymous = replace(explanation, model_id=None, instance_id=None)
    assert metrics.deletion_auc(first, anonymous) == metrics.deletion_auc(first, explanation)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_f10_metrics_and_agreement_refuse_non_finite_values(image_pair, bad):
    first, _, explanation = image_pair
    values = explanation.values.copy()
    values[7] = bad
    broken = replace(explanation, values=values)
    with pytest.raises(InvalidInputError, match=r"1 non-finite values .*'\(0, 7\)'"):
        metrics.insertion_auc(first, broken)
    with pytest.raises(InvalidInputError, match="non-finite"):
        metrics.rank_agreement(explanation, broken)


def test_f12_image_metrics_score_segments_by_the_sum_of_their_pixels(image_pair):
    """The removal view's features are superpixels: a segment's attribution is the sum of
    its pixels' values (the view's ``Groups`` map), not the value of pixel i."""
    first, _, explanation = image_pair
    view = first.adapter.interpretable_view(first.adapter.encode(IMAGE), explanation.output)
    d = view.n_features
    segment_values = np.arange(d, dtype=np.float64)  # the last segment matters most
    crafted = replace(explanation, values=view.to_features(segment_values))
    curve = metrics.deletion_curve(first, crafted)
    order = np.argsort(-segment_values, kind="stable")
    masks = np.ones((d + 1, d), dtype=bool)
    for step in range(1, d + 1):
        masks[step:, order[step - 1]] = False
    expected = view.evaluate(masks)[:, explanation.target]
    np.testing.assert_allclose(curve.to_numpy(), expected, rtol=1e-12)


def test_f12_identity_is_carried_stable_and_serialised(image_pair):
    first, second, explanation = image_pair
    again = xplain.Explainer(first.model, modality="image").explain(IMAGE, "occlusion")
    assert again.model_id == explanation.model_id == first.model_id != second.model_id
    assert again.instance_id == explanation.instance_id
    assert first.explain(OTHER_IMAGE, "saliency").instance_id != explanation.instance_id
    d = explanation.to_dict()
    assert (d["model_id"], d["instance_id"], d["n_features"]) == (
        explanation.model_id, explanation.instance_id, SIZE * SIZE,
    )
    changed = _cnn(0)
    with torch.no_grad():
        changed[0].weight[0, 0, 0, 0] += 1e-3  # one training step's worth of change
    assert xplain.Explainer(changed, modality="image").model_id != first.model_id


def test_f12_sklearn_models_are_fingerprinted_by_their_fitted_state():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).astype(int)
    model_a = LogisticRegression().fit(frame, y)
    model_b = LogisticRegression().fit(frame, 1 - y)  # same parameters, other fit
    ex_a = xplain.Explainer(model_a, data=frame)
    ex_b = xplain.Explainer(model_b, data=frame)
    assert ex_a.model_id != ex_b.model_id
    assert xplain.Explainer(model_a, data=frame).model_id == ex_a.model_id
    explanation = ex_a.explain(frame.iloc[0], "occlusion")
    assert explanation.instance_id == ex_a.explain(frame.iloc[0], "lime").instance_id
    with pytest.raises(InvalidInputError, match="another model"):
        metrics.deletion_auc(ex_b, explanation)
    metrics.deletion_auc(ex_a, explanation)


def test_f12_agreement_refuses_explanations_of_different_predictions(image_pair):
    first, second, explanation = image_pair
    other_model = second.explain(IMAGE, "saliency", target=explanation.target)
    with pytest.raises(InvalidInputError, match=r"different model \(model_id\)"):
        metrics.rank_agreement(explanation, other_model)
    other_instance = first.explain(OTHER_IMAGE, "saliency", target=explanation.target)
    with pytest.raises(InvalidInputError, match=r"different instance \(instance_id\)"):
        metrics.rank_agreement(explanation, other_instance)
    other_class = first.explain(IMAGE, "saliency", target=(explanation.target + 1) % 3)
    with pytest.raises(InvalidInputError, match="for class"):
        metrics.rank_agreement(explanation, other_class)


# -- finding 13: degenerate agreement ----------------------------------------------------
def _agreement(explanation, x, y, k=3):
    a = replace(explanation, values=np.asarray(x, dtype=np.float64), method="a")
    b = replace(explanation, values=np.asarray(y, dtype=np.float64), method="b")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = metrics.rank_agreement(a, b, k=k)
    reasons = [str(w.message) for w in caught if w.category is UndefinedMeasureWarning]
    return result, " ".join(reasons)


def _nan(result):
    return {name for name, value in result.items() if np.isnan(value)}


@pytest.fixture(scope="module")
def signal():
    return np.random.default_rng(5).normal(size=SIZE * SIZE)


def test_f13_all_zero_explanation_gives_nan_with_a_reason(image_pair, signal):
    _, _, explanation = image_pair
    zero = np.zeros(SIZE * SIZE)
    noise = np.random.default_rng(2).normal(size=SIZE * SIZE) * 1e-17
    for x, y in ((zero, zero), (zero, noise), (noise, zero), (zero, signal), (signal, noise)):
        result, reason = _agreement(explanation, x, y)
        assert _nan(result) == ALL_AGREEMENT  # was top_k_jaccard 1.0, sign agreement 0.0
        assert "all zero" in reason


def test_f13_float_noise_is_not_signal(image_pair, signal):
    _, _, explanation = image_pair
    sparse = np.where(np.abs(signal) > 1.0, signal, 0.0)
    # rounding noise where the other explanation is exactly zero: no disagreement
    noisy = sparse + np.where(sparse == 0, 1e-9, 0.0) * np.sign(-signal)
    result, reason = _agreement(explanation, sparse, noisy)
    assert result == {"spearman": 1.0, "kendall": 1.0, "top_k_jaccard": 1.0,
                      "sign_agreement": 1.0}
    assert reason == ""
    # two noise-level explanations of a model whose output does not move
    a = np.random.default_rng(3).normal(size=SIZE * SIZE) * 1e-17
    b = np.random.default_rng(4).normal(size=SIZE * SIZE) * 1e-17
    assert _nan(_agreement(explanation, a, b)[0]) == ALL_AGREEMENT
    # a constant explanation plus noise still ranks nothing
    flat = 1.0 + np.random.default_rng(6).normal(size=SIZE * SIZE) * 1e-15
    result, reason = _agreement(explanation, flat, signal)
    assert _nan(result) == {"spearman", "kendall", "top_k_jaccard"}
    assert "constant" in reason and "ties" in reason
    assert result["sign_agreement"] == pytest.approx(np.mean(signal > 0))


def test_f13_top_k_is_nan_when_the_sets_are_not_defined(image_pair, signal):
    _, _, explanation = image_pair
    two = np.zeros(SIZE * SIZE)
    two[[10, 20]] = [3.0, -2.0]  # two non-zero values: no top 3
    result, reason = _agreement(explanation, two, signal, k=3)
    assert np.isnan(result["top_k_jaccard"]) and "2 non-zero values, fewer than k=3" in reason
    assert not np.isnan(result["spearman"])
    assert _agreement(explanation, two, signal, k=2)[0]["top_k_jaccard"] == pytest.approx(
        len({10, 20} & set(np.argsort(-np.abs(signal))[:2])) / len(
            {10, 20} | set(np.argsort(-np.abs(signal))[:2])
        )
    )
    tied = signal.copy()
    top = np.argsort(-np.abs(signal))
    tied[top[2]] = np.sign(tied[top[2]]) * abs(tied[top[3]])  # 3rd and 4th largest tie
    result, reason = _agreement(explanation, tied, signal, k=3)
    assert np.isnan(result["top_k_jaccard"]) and "ties at its 3th and 4th" in reason
    result, reason = _agreement(explanation, signal, signal, k=SIZE * SIZE)
    assert np.isnan(result["top_k_jaccard"]) and "every one is in both sets" in reason


def test_f13_comparison_agreement_of_a_zero_method_is_nan(image_pair):
    """End to end: a model whose output ignores the input explained by two methods."""
    flat = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(SIZE * SIZE * 3, 3))
    with torch.no_grad():
        flat[1].weight.zero_()
        flat[1].bias.copy_(torch.tensor([0.3, -0.1, 0.2]))
    explainer = xplain.Explainer(flat, modality="image")
    comparison = explainer.compare(IMAGE, methods=["saliency", "occlusion"])
    with pytest.warns(UndefinedMeasureWarning, match="all zero"):
        frame = comparison.agreement(k=3)
    assert frame[list(ALL_AGREEMENT)].isna().all().all()
