"""Properties of tabular explanations over generated tables, models, rows and parameters.

* every call ends in a finite Explanation or a clear XplainError, never a raw exception;
* a model that returns NaN or inf is never explained as if fine;
* exact Shapley values (and exact KernelSHAP) sum to f(x) - E_w f(background);
* the user's DataFrames are unchanged;
* a seed gives the same values twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given
from hypothesis import strategies as st
from outcomes import assert_trustworthy, outcome
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import ModelOutputError, XplainError

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
odd = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def tables(draw, min_rows: int = 6) -> pd.DataFrame:
    """A numeric table of 1-4 columns and 6-30 rows (column names are distinct strings)."""
    d = draw(st.integers(1, 4))
    n = draw(st.integers(min_rows, 30))
    columns = {f"x{j}": draw(st.lists(finite, min_size=n, max_size=n)) for j in range(d)}
    return pd.DataFrame(columns, dtype=np.float64)


def linear_scores(frame: pd.DataFrame) -> np.ndarray:
    weights = np.linspace(1.0, -0.5, frame.shape[1])
    return frame.to_numpy(dtype=np.float64) @ weights / 100.0


def logistic(frame: pd.DataFrame) -> LogisticRegression | None:
    labels = linear_scores(frame) > np.median(linear_scores(frame))
    if labels.all() or not labels.any():
        return None
    return LogisticRegression().fit(frame, labels.astype(int))


METHOD_PARAMS = {
    "kernel_shap": st.fixed_dictionaries(
        {}, optional={"max_evals": st.integers(-2, 600), "seed": st.integers(0, 3)}
    ),
    "exact_shapley": st.just({}),
    "lime": st.fixed_dictionaries(
        {}, optional={"num_samples": st.integers(-1, 300), "seed": st.integers(0, 3)}
    ),
    "occlusion": st.fixed_dictionaries({}, optional={"window": st.integers(0, 3)}),
}


@given(
    frame=tables(),
    model_kind=st.sampled_from(["logistic", "raw", "nan_where_large"]),
    method=st.sampled_from(sorted(METHOD_PARAMS)),
    data=st.data(),
)
def test_tabular_result_is_finite_or_an_xplain_error(frame, model_kind, method, data):
    if model_kind == "logistic":
        model = logistic(frame)
        assume(model is not None)
    elif model_kind == "raw":
        model = linear_scores
    else:  # NaN for the rows whose first column is large: some masks may hit them
        threshold = float(frame.iloc[:, 0].median())

        def model(rows: pd.DataFrame) -> np.ndarray:
            scores = linear_scores(rows)
            return np.where(rows.iloc[:, 0].to_numpy() > threshold, np.nan, scores)

    params = data.draw(METHOD_PARAMS[method], label="params")
    row = frame.iloc[data.draw(st.integers(0, len(frame) - 1), label="row")]
    given_frame, given_row = frame.copy(), row.copy()

    explainer = outcome(lambda: xplain.Explainer(model, data=frame))
    result = explainer if isinstance(explainer, XplainError) else outcome(
        lambda: explainer.explain(row, method=method, **params)
    )
    assert_trustworthy(result)
    pd.testing.assert_frame_equal(frame, given_frame)
    pd.testing.assert_series_equal(row, given_row)


@given(frame=tables(), bad=odd, method=st.sampled_from(sorted(METHOD_PARAMS)))
def test_tabular_model_returning_nan_or_inf_is_refused(frame, bad, method):
    def broken(rows: pd.DataFrame) -> np.ndarray:
        return np.full(len(rows), bad)

    def run():
        return xplain.Explainer(broken, data=frame).explain(frame.iloc[0], method=method)

    result = outcome(run)
    assert isinstance(result, ModelOutputError), result


@given(frame=tables(), column=st.integers(0, 3), bad=odd)
def test_tabular_row_with_nan_or_inf_is_refused(frame, column, bad):
    model = logistic(frame)
    assume(model is not None)
    row = frame.iloc[0].copy()
    row.iloc[column % len(row)] = bad
    result = outcome(lambda: xplain.Explainer(model, data=frame).explain(row, method="lime"))
    assert isinstance(result, XplainError)


@given(frame=tables(), kind=st.sampled_from(["logistic", "raw"]), row=st.integers(0, 5))
def test_exact_shapley_sums_to_the_difference_from_the_base_value(frame, kind, row):
    model = logistic(frame) if kind == "logistic" else linear_scores
    assume(model is not None)
    explainer = xplain.Explainer(model, data=frame)
    instance = frame.iloc[row]
    exact = explainer.explain(instance, method="exact_shapley")
    shap = explainer.explain(instance, method="kernel_shap", max_evals=4096)
    base = exact.diagnostics["base_value"]
    # the default outputs are the probability (classifier) and the raw score (regression),
    # which is also what the Explanation's prediction holds
    score = exact.prediction[exact.target]
    assert np.isclose(exact.values.sum(), score - base, atol=1e-9)
    assert np.isclose(shap.diagnostics["base_value"], base, atol=1e-12)
    if shap.diagnostics.get("exact"):
        np.testing.assert_allclose(shap.values, exact.values, atol=1e-9)
    assert np.isclose(shap.values.sum(), exact.values.sum(), atol=1e-9)


@given(frame=tables(), method=st.sampled_from(["kernel_shap", "lime"]), seed=st.integers(0, 9))
def test_tabular_seeded_methods_repeat_exactly(frame, method, seed):
    model = logistic(frame)
    assume(model is not None)
    explainer = xplain.Explainer(model, data=frame)
    params = {"seed": seed, **({"num_samples": 200} if method == "lime" else {})}
    first = explainer.explain(frame.iloc[1], method=method, **params)
    again = explainer.explain(frame.iloc[1], method=method, **params)
    np.testing.assert_array_equal(first.values, again.values)
