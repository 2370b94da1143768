"""xplain._ranking: the one rule for "top k plus N other features" and the shared order of
a comparison, used by the plots and the HTML reports."""

from __future__ import annotations

import numpy as np

from xplain._ranking import others_label, shared_importance, top_and_rest


def test_every_feature_is_shown_when_they_fit():
    shown, rest = top_and_rest(np.array([0.1, 3.0, 2.0]), 3)
    assert list(shown) == [1, 2, 0] and rest.size == 0


def test_past_max_display_the_last_row_holds_the_rest():
    importance = np.array([0.1, 3.0, 2.0, 0.5, 2.0])
    for k in range(1, 5):
        shown, rest = top_and_rest(importance, k)
        assert len(shown) + 1 == k  # at most k rows, the "other features" one included
        assert sorted([*shown, *rest]) == list(range(5))
        assert importance[shown].min(initial=np.inf) >= importance[rest].max()
    shown, _ = top_and_rest(importance, 3)
    assert list(shown) == [1, 2]  # the tie (2.0 at 2 and 4) goes to feature order


def test_nan_importance_is_ranked_last():
    shown, rest = top_and_rest(np.array([np.nan, 1.0, 0.5]), 2)
    assert list(shown) == [1] and list(rest) == [2, 0]


def test_others_label_agrees_in_number():
    assert others_label(1) == "1 other feature" and others_label(12) == "12 other features"


def test_shared_importance_ignores_each_methods_units():
    a = np.array([1.0, 0.2, 0.9, -0.1])
    b = np.array([10.0, -2.0, -100.0, 3.0])
    importance = shared_importance(np.stack([a, b]))
    np.testing.assert_allclose(importance, (np.abs(a) / 1.0 + np.abs(b) / 100.0) / 2)
    np.testing.assert_allclose(shared_importance(np.stack([a, 1e6 * b])), importance)


def test_an_all_zero_method_and_non_finite_values_count_zero():
    values = np.array([[0.0, 0.0, 0.0], [np.nan, 2.0, -1.0]])
    np.testing.assert_allclose(shared_importance(values), [0.0, 0.5, 0.25])
