"""The plots on what the library produces: KernelSHAP on a scikit-learn model (base value,
f(x), standard errors, shown values) and a batch from explain_batch."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import xplain


@pytest.fixture(scope="module")
def tabular():
    rng = np.random.default_rng(0)
    columns = ["age", "hours", "gain", "loss", *(f"x{i}" for i in range(6))]
    frame = pd.DataFrame(rng.normal(size=(200, 10)), columns=columns)
    target = (frame["age"] + 2 * frame["hours"] - frame["gain"] > 0).astype(int)
    model = LogisticRegression().fit(frame, target)
    return xplain.Explainer(model, data=frame.iloc[:40]), frame


def test_kernel_shap_waterfall_ends_at_f_of_x_with_its_standard_errors(tabular):
    explainer, frame = tabular
    e = explainer.explain(frame.iloc[0], method="kernel_shap", max_evals=300, seed=0)
    ax = e.plot(max_display=3)
    bars = ax.patches
    fx = e.base_value + e.diagnostics["delta"]
    assert bars[0].get_x() + bars[0].get_width() == pytest.approx(fx, abs=1e-6)
    assert bars[-1].get_x() == pytest.approx(e.base_value)
    top = int(np.argmax(np.abs(e.values)))
    assert ax.get_yticklabels()[0].get_text() == f"{e.features[top]} = {frame.iloc[0, top]:.4g}"
    err = np.asarray(e.diagnostics["std_err"])
    assert err[top] > 0  # sampled, not enumerated
    (start, end), *_ = ax.containers[1].lines[2][0].get_segments()
    assert end[0] - start[0] == pytest.approx(2 * err[top])


def test_a_batch_from_explain_batch_draws_every_batch_plot(tabular):
    explainer, frame = tabular
    es = explainer.explain_batch([frame.iloc[i] for i in range(6)], method="kernel_shap",
                                 max_evals=300, seed=0)
    ax = es.plot()
    assert sum(len(c.get_offsets()) for c in ax.collections) == 6 * 10
    bars = es.plot.bar()
    np.testing.assert_allclose(sorted((p.get_width() for p in bars.patches), reverse=True),
                               es.mean_abs().to_numpy())
    dependence = es.plot.dependence("age")
    np.testing.assert_allclose(dependence.collections[0].get_offsets(),
                               np.c_[frame["age"].iloc[:6], es[:, "age"]])


def _fx_line(ax):
    """The x and label of a waterfall's solid line (f(x), or the values' sum)."""
    (line,) = [ln for ln in ax.lines if ln.get_linestyle() == "-" and ln.get_label()[0] != "_"]
    return float(line.get_xdata()[0]), line.get_label()


def _html_fx(e):
    return float(re.search(r'class="fx"[^>]*>f\(x\) <b>([^<]*)</b>', e.to_html()).group(1))


def test_a_lime_waterfall_ends_at_the_model_score_not_the_surrogate(tabular):
    explainer, frame = tabular
    e = explainer.explain(frame.iloc[3], method="lime", num_samples=500, seed=0)
    score = float(e.prediction[e.target])  # the model's probability, as the report says
    local = e.base_value + float(np.sum(e.values))  # LIME's values add up to its surrogate
    assert local == pytest.approx(e.diagnostics["local_prediction"], abs=1e-9)
    assert abs(local - score) > 1e-3  # the surrogate's fit error: the two lines differ
    x, label = _fx_line(e.plot("waterfall"))
    assert x == pytest.approx(score, abs=1e-12)
    assert label.startswith(f"f(x) = {score:.4g}") and f"sum to {local:.4g}" in label
    assert _html_fx(e) == pytest.approx(score, rel=1e-3)  # one f(x) for plot and report
    assert "intercept" in e.diagnostics["base_value_source"]


def test_a_restricted_waterfall_keeps_f_of_x(tabular):
    explainer, frame = tabular
    es = explainer.explain_batch([frame.iloc[i] for i in range(2)], method="kernel_shap",
                                 max_evals=300, seed=0)
    r = es[0, ["gain", "age"]]
    score = float(r.prediction[r.target])
    assert r.base_value + r.diagnostics["delta"] == pytest.approx(score, abs=1e-9)
    x, label = _fx_line(r.plot("waterfall"))
    assert x == pytest.approx(score, abs=1e-9) and label.startswith(f"f(x) = {score:.4g}")
    assert _html_fx(r) == pytest.approx(score, rel=1e-3)


def test_an_unknown_f_of_x_is_never_labelled_f_of_x(tabular):
    explainer, frame = tabular
    e = explainer.explain(frame.iloc[3], method="lime", num_samples=500, seed=0)
    logits = dataclasses.replace(e, output="log_odds")  # prediction holds no log-odds
    x, label = _fx_line(logits.plot("waterfall"))
    total = e.base_value + float(np.sum(e.values))
    assert x == pytest.approx(total) and label.startswith("base + sum of values")
    assert "f(x)" not in label and 'class="fx"' not in logits.to_html()
