"""Rank agreement between explanations: identities, hand-computed cases, scipy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import stats
from vector_models import linear_module, vector_explainer

from xplain import metrics
from xplain.errors import InvalidParameterError
from xplain.metrics.agreement import sign_agreement, top_k_jaccard


@pytest.fixture
def explanation():
    rng = np.random.default_rng(3)
    w, x = rng.normal(size=10), rng.normal(size=10)
    special = np.zeros(10, dtype=bool)
    special[[0, 9]] = True
    return vector_explainer(linear_module(w), special).explain(x, "integrated_gradients")


def _with(explanation, values, method="other"):
    return replace(explanation, values=np.asarray(values, dtype=np.float64), method=method)


def test_a_method_agrees_with_itself_and_disagrees_with_its_negation(explanation):
    same = metrics.rank_agreement(explanation, explanation)
    assert same == pytest.approx(
        {"spearman": 1.0, "kendall": 1.0, "top_k_jaccard": 1.0, "sign_agreement": 1.0}
    )
    negated = metrics.rank_agreement(explanation, _with(explanation, -explanation.values))
    assert negated["spearman"] == pytest.approx(-1.0)
    assert negated["kendall"] == pytest.approx(-1.0)
    assert negated["top_k_jaccard"] == 1.0  # same |values|
    assert negated["sign_agreement"] == 0.0


def test_special_features_are_left_out_and_scipy_agrees(explanation):
    rng = np.random.default_rng(0)
    other = rng.normal(size=10)
    other[[0, 9]] = [1e3, -1e3]  # special: must not count
    result = metrics.rank_agreement(explanation, _with(explanation, other), k=3)
    a, b = explanation.values[1:9], other[1:9]
    assert result["spearman"] == pytest.approx(stats.spearmanr(a, b).statistic)
    assert result["kendall"] == pytest.approx(stats.kendalltau(a, b).statistic)
    assert result["top_k_jaccard"] == top_k_jaccard(a, b, 3)


def test_top_k_jaccard_and_sign_agreement_by_hand():
    x, y = np.array([5.0, 4, 3, 2, 1]), np.array([1.0, 2, 3, 4, 5])
    assert top_k_jaccard(x, y, 2) == 0.0
    assert top_k_jaccard(x, y, 3) == pytest.approx(1 / 5)  # {0,1,2} vs {2,3,4}
    assert top_k_jaccard(x, -x, 2) == 1.0
    assert np.isnan(top_k_jaccard(x, y, 99))  # k >= d: every feature is in both sets
    # non-zero somewhere at 0, 1, 3; same sign only at 0 (0 vs 2 disagrees)
    assert sign_agreement(np.array([1.0, -1, 0, 2]), np.array([1.0, 1, 0, 0])) == pytest.approx(
        1 / 3
    )
    assert np.isnan(sign_agreement(np.zeros(3), np.zeros(3)))


def test_constant_explanations_have_no_rank_correlation(explanation):
    flat = _with(explanation, np.ones(10))
    result = metrics.rank_agreement(explanation, flat)
    assert np.isnan(result["spearman"]) and np.isnan(result["kendall"])


def test_agreement_frame_has_one_row_per_pair(explanation):
    explanations = {
        "a": explanation,
        "b": _with(explanation, -explanation.values),
        "c": _with(explanation, explanation.values**2),
    }
    frame = metrics.agreement_frame(explanations, k=2)
    assert list(frame.columns) == [
        "method_a", "method_b", "spearman", "kendall", "top_k_jaccard", "sign_agreement",
    ]
    assert list(zip(frame["method_a"], frame["method_b"], strict=True)) == [
        ("a", "b"), ("a", "c"), ("b", "c"),
    ]
    assert frame.loc[0, "spearman"] == pytest.approx(-1.0)


def test_mismatched_features_and_bad_k_are_refused(explanation):
    shorter = replace(explanation, features=explanation.features[:-1])
    with pytest.raises(InvalidParameterError, match="different features"):
        metrics.rank_agreement(explanation, shorter)
    with pytest.raises(InvalidParameterError, match="'k' parameter of rank_agreement"):
        metrics.rank_agreement(explanation, explanation, k=0)
