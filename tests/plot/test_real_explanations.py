"""The plots on what the library produces: KernelSHAP on a scikit-learn model (base value,
f(x), standard errors, shown values) and a batch from explain_batch."""

from __future__ import annotations

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
