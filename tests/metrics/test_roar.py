"""RemOve And Retrain on a task whose informative columns are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from xplain import metrics
from xplain.errors import InvalidParameterError


@pytest.fixture(scope="module")
def task():
    """10 columns; the label depends on the first three only."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 10))
    y = (X[:, 0] + X[:, 1] + X[:, 2] > 0).astype(int)
    return X, y, np.r_[3.0, 2.0, 1.0, np.zeros(7)]


def test_true_importance_degrades_accuracy_and_the_reversed_one_does_not(task):
    X, y, importance = task
    model = LogisticRegression()
    fractions = (0.0, 0.2, 0.3)
    true = metrics.remove_and_retrain(model, X, y, importance, fractions=fractions)
    reverse = metrics.remove_and_retrain(model, X, y, np.arange(10.0), fractions=fractions)
    assert list(true.columns) == ["fraction", "n_removed", "score"]
    assert list(true["n_removed"]) == [0, 2, 3]
    assert true["score"].iloc[0] == reverse["score"].iloc[0] > 0.95
    assert true["score"].iloc[2] < 0.6  # nothing informative is left: chance level
    assert true["score"].iloc[1] < 0.85  # one informative column left
    assert reverse["score"].min() > 0.95  # the noise columns went first
    assert not hasattr(model, "coef_")  # the estimator itself is never fitted


def test_per_row_importance_and_dataframes(task):
    X, y, importance = task
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(10)])
    rows = np.broadcast_to(importance, X.shape)
    per_row = metrics.remove_and_retrain(LogisticRegression(), frame, y, rows, fractions=(0.3,))
    global_ = metrics.remove_and_retrain(LogisticRegression(), X, y, importance, fractions=(0.3,))
    assert per_row["score"].iloc[0] == pytest.approx(global_["score"].iloc[0])
    balanced = metrics.remove_and_retrain(
        LogisticRegression(), X, y, importance, fractions=(0.0,), scoring="balanced_accuracy"
    )
    assert 0.9 < balanced["score"].iloc[0] <= 1.0


def test_bad_importance_is_refused(task):
    X, y, _ = task
    with pytest.raises(InvalidParameterError, match=r"shape \[10\]"):
        metrics.remove_and_retrain(LogisticRegression(), X, y, np.ones(9))
    with pytest.raises(InvalidParameterError, match="'fractions' parameter"):
        metrics.remove_and_retrain(LogisticRegression(), X, y, np.ones(10), fractions=(1.5,))
