"""Second hostile try-out, tabular models, perturbation methods and metrics: the defects it
found, each checked against a closed form or the exact answer."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import xplain
from xplain import metrics
from xplain.errors import InvalidInputError, InvalidParameterError, ModelOutputError


def _data(n: int = 120, d: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(n, d)), columns=[f"f{j}" for j in range(d)])


def _linear(X: pd.DataFrame) -> tuple[LinearRegression, pd.Series]:
    y = 3 * X["f0"] - 2 * X["f1"] + 0.5 * X["f2"]
    return LinearRegression().fit(X, y), y


def test_nullable_integer_column_is_explained_exactly():
    # pandas' nullable Int64 (read_csv(dtype_backend=...), convert_dtypes()) was refused:
    # "The model failed on rows of the data (TypeError: Cannot interpret 'Int64Dtype()')"
    X = _data()
    X["k"] = pd.array(np.arange(len(X)) % 5, dtype="Int64")
    seen = []

    def model(frame: pd.DataFrame) -> np.ndarray:
        seen.append(frame["k"].dtype)
        return np.asarray(frame["f0"], dtype=float) + 2 * np.asarray(frame["k"], dtype=float)

    ex = xplain.Explainer(model, data=X, background_size=1000)
    row = X.iloc[7]
    e = ex.explain(row, method="exact_shapley")
    # additive model, whole data as background: phi_j = coef_j (x_j - mean_j)
    expected = [row["f0"] - X["f0"].mean(), 0, 0, 0, 2 * (row["k"] - X["k"].astype(float).mean())]
    np.testing.assert_allclose(e.values, expected, atol=1e-12)
    assert all(dtype == "Int64" for dtype in seen)  # the model gets its training dtype


def test_complex_model_output_is_refused_not_truncated():
    # np.asarray(complex, float64) dropped the imaginary part with only a ComplexWarning
    X = _data()
    with pytest.raises(ModelOutputError, match="complex"):
        xplain.Explainer(lambda f: np.asarray(f["f0"]) + 1j, data=X)

    calls = []

    def later(frame):  # real when first called (setup), complex afterwards
        calls.append(len(frame))
        out = np.asarray(frame["f0"], dtype=complex)
        return out if len(calls) > 1 else out.real

    ex = xplain.Explainer(later, data=X, background_size=5)
    with pytest.raises(ModelOutputError, match="complex"):
        ex.explain(X.iloc[0], method="kernel_shap")


@pytest.mark.parametrize("labels", [["x", "x"], [1, "1"]], ids=repr)
def test_duplicate_output_labels_are_refused(labels):
    # target="x" silently explained the first of two outputs named "x"
    X = _data()

    def model(frame):
        return np.column_stack([np.asarray(frame["f0"]), -np.asarray(frame["f0"])])

    with pytest.raises(InvalidParameterError, match="labels.*unique") as err:
        xplain.Explainer(model, data=X, labels=labels)
    assert "'1'" in str(err.value) or "'x'" in str(err.value)


def test_max_sensitivity_of_shapley_values_on_a_table():
    # every perturbation method was refused on tables ("this adapter's view samples its
    # own neighbourhood"), although only LIME samples that neighbourhood
    X = _data()
    model, _ = _linear(X)
    ex = xplain.Explainer(model, data=X, background_size=1000)
    e = ex.explain(X.iloc[0], method="exact_shapley")
    # linear model: hiding a column leaves the other columns' Shapley values unchanged
    assert metrics.max_sensitivity(ex, e) == pytest.approx(0.0, abs=1e-12)
    lime = ex.explain(X.iloc[0], method="lime")
    with pytest.raises(xplain.XplainError, match="neighbourhood"):
        metrics.max_sensitivity(ex, lime)


def _shapley(f, x: np.ndarray, background: np.ndarray, hidden: int | None = None) -> np.ndarray:
    """Exact interventional Shapley values by enumeration; column ``hidden`` always comes
    from the background (a null player)."""
    d = len(x)
    phi = np.zeros(d)
    for i in range(d):
        others = [j for j in range(d) if j != i]
        for k in range(d):
            for S in itertools.combinations(others, k):
                weight = math.factorial(k) * math.factorial(d - k - 1) / math.factorial(d)
                with_i, without = background.copy(), background.copy()
                for j in (*S, i):
                    if j != hidden:
                        with_i[:, j] = x[j]
                        if j != i:
                            without[:, j] = x[j]
                phi[i] += weight * (f(with_i).mean() - f(without).mean())
    return phi


def test_max_sensitivity_of_kernel_shap_measures_the_model():
    # an interaction f0 * f1: hiding f1 changes f0's value
    X = _data(n=40)

    def f(m: np.ndarray) -> np.ndarray:
        return m[:, 0] * m[:, 1] + m[:, 2]

    ex = xplain.Explainer(lambda fr: f(fr.to_numpy()), data=X, background_size=1000)
    x, background = X.to_numpy()[3], X.to_numpy()
    e = ex.explain(X.iloc[3], method="kernel_shap")
    np.testing.assert_allclose(e.values, _shapley(f, x, background), atol=1e-12)
    changes = []
    for j in range(4):
        keep = np.arange(4) != j
        diff = (_shapley(f, x, background, hidden=j) - e.values)[keep]
        changes.append(np.linalg.norm(diff) / np.linalg.norm(e.values[keep]))
    assert max(changes) > 0.1
    assert metrics.max_sensitivity(ex, e, n_samples=4) == pytest.approx(max(changes), abs=1e-9)


@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
def test_roar_refuses_non_finite_importance(bad):
    # NaN ranked last (least important) and inf first, silently
    X = _data()
    _, y = _linear(X)
    with pytest.raises(InvalidParameterError, match="importance.*finite"):
        metrics.remove_and_retrain(LinearRegression(), X, y, np.array([1.0, bad, 0.0, 0.0]))


def test_roar_aligns_named_importance_with_the_columns():
    # a Series of importances (e.g. sorted) was read by position, not by column name
    X = _data()
    _, y = _linear(X)
    importance = pd.Series({"f0": 3.0, "f1": 2.0, "f2": 0.5, "f3": 0.0})
    plain = metrics.remove_and_retrain(LinearRegression(), X, y, importance.to_numpy())
    shuffled = importance.sort_values()  # f3, f2, f1, f0
    named = metrics.remove_and_retrain(LinearRegression(), X, y, shuffled)
    pd.testing.assert_frame_equal(named, plain)
    with pytest.raises(InvalidParameterError, match="'g0'"):
        metrics.remove_and_retrain(LinearRegression(), X, y, importance.rename({"f0": "g0"}))


def test_roar_importance_rows_frame_aligned_by_column_name():
    X = _data()
    _, y = _linear(X)
    rows = pd.DataFrame(np.abs(np.random.default_rng(1).normal(size=X.shape)), columns=X.columns)
    plain = metrics.remove_and_retrain(LinearRegression(), X, y, rows.to_numpy())
    named = metrics.remove_and_retrain(LinearRegression(), X, y, rows[list(X.columns)[::-1]])
    pd.testing.assert_frame_equal(named, plain)


@pytest.mark.parametrize(
    "case, match",
    [
        ("short_y", "y has 10 values for 120 rows"),
        ("nan_x", "X has NaN or infinite"),
        ("nan_y", "y has NaN or infinite"),
        ("scoring", "'scoring'.*'nope'"),
        ("estimator", "scikit-learn estimator"),
        ("one_class", "fitting the LogisticRegression failed"),
        ("tiny", "cannot split the 3 rows"),
    ],
)
def test_roar_bad_input_is_a_clear_error(case, match):
    X = _data()
    _, y = _linear(X)
    estimator, kwargs = LinearRegression(), {}
    if case == "short_y":
        y = y[:10]
    elif case == "nan_x":
        X = X.copy()
        X.iloc[0, 0] = np.nan
    elif case == "nan_y":
        y = y.copy()
        y.iloc[0] = np.nan
    elif case == "scoring":
        kwargs = {"scoring": "nope"}
    elif case == "estimator":
        estimator = object()
    elif case == "one_class":
        estimator, y = LogisticRegression(), np.zeros(len(X), dtype=int)
    elif case == "tiny":  # a class of one row cannot be stratified
        estimator, X, y = LogisticRegression(), X.iloc[:3], np.array([0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(xplain.XplainError, match=match):
            metrics.remove_and_retrain(estimator, X, y, np.ones(4), **kwargs)


def test_roar_error_types_for_inputs():
    X = _data()
    _, y = _linear(X)
    with pytest.raises(InvalidInputError):
        metrics.remove_and_retrain(LinearRegression(), X, y[:10], np.ones(4))
