"""Finding 18: a regression output is shown as ``prediction = 63.4048``, never ``p = 63.405``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import xplain
from xplain.cli import _summary


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def regression(data):
    y = data.to_numpy() @ [1.0, 2.0, 3.0] + 60.0
    model = LinearRegression().fit(data, y)
    ex = xplain.Explainer(model, data=data)
    row = data.iloc[0]
    value = float(model.predict(data.iloc[:1])[0])
    return ex, row, value


def test_f18_regression_explanation_shows_the_prediction_not_p(regression):
    ex, row, value = regression
    e = ex.explain(row, "kernel_shap")
    assert not e.prediction_is_probability
    shown = f"prediction = {value:.6g}"
    html = e.to_html()
    assert shown in html and "p = " not in html
    assert f"prediction={value:.6g}" in repr(e) and ", p=" not in repr(e)
    assert "p=" not in _summary(e, top=2) and f"prediction={value:.6g}" in _summary(e, top=2)


def test_f18_regression_comparison_shows_the_prediction_not_p(regression):
    ex, row, value = regression
    c = ex.compare(row, methods=["kernel_shap", "exact_shapley"])
    html = c.to_html(evaluate=False)
    assert f"prediction = {value:.6g}" in html and "p = " not in html
    assert f"prediction={value:.6g}" in repr(c) and ", p=" not in repr(c)


def test_classifier_keeps_p(data):
    y = (data["a"] > 0).astype(int)
    model = LogisticRegression().fit(data, y)
    for output in ("probability", "raw"):  # a margin is explained, the prediction is p
        e = xplain.Explainer(model, data=data, output=output).explain(data.iloc[0], "kernel_shap")
        p = model.predict_proba(data.iloc[:1])[0, e.target]
        assert f"(p = {p:.3f})" in e.to_html() and f"p={p:.3f}" in repr(e)
