"""Hostile try-out of issue 13's reports, lazy import and tabular scaler paths: one test per
finding, each failing before its fix."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import xplain
from xplain.errors import InvalidParameterError
from xplain.report._bars import feature_bars


@pytest.fixture(scope="module")
def explainer() -> tuple[xplain.Explainer, pd.DataFrame]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    model = LogisticRegression().fit(X, (X.a + X.b - X.c > 0).astype(int))
    return xplain.Explainer(model, data=X.iloc[:40], background_size=20), X


def test_h13_restricted_bars_add_up(explainer) -> None:
    """es[:, names] drawn as bars: a row sums the left-out features, so that the rows add up
    from the base value to the f(x) the report prints (they fell short by that sum)."""
    ex, X = explainer
    full = ex.explain_batch(X.iloc[:2], method="kernel_shap", seed=0)[1]
    e = xplain.Explanations([full])[:, ["c", "a"]][0]
    rows = feature_bars(e, 10)["rows"]
    assert [r["feature"] for r in rows] == ["c", "a", "2 features left out"]
    left_out = full.values[[1, 3]].sum()
    assert rows[-1]["value"] == pytest.approx(left_out, abs=1e-12) and rows[-1]["other"]
    f_x = full.prediction[full.target]  # probability output: f(x) is the prediction
    total = e.base_value + sum(r["value"] for r in rows)
    assert total == pytest.approx(f_x, abs=1e-9)
    html = e.to_html()
    assert "2 features left out" in html and f"{left_out:+.4g}" in html
    assert "left out" not in full.to_html()  # a full explanation has no such row


def test_h13_one_method_heading(explainer) -> None:
    """A comparison of one method (``xplain table --methods tree_shap --evaluate``) was
    headed "1 methods"."""
    ex, X = explainer
    one = ex.compare(X.iloc[0], methods=["occlusion"]).to_html()
    two = ex.compare(X.iloc[0], methods=["occlusion", "kernel_shap"]).to_html()
    assert re.search(r"<h2>1 method &middot;", one)
    assert re.search(r"<h2>2 methods &middot;", two)


def test_h13_bool_column_scaler_message() -> None:
    """A Pipeline(StandardScaler, net) fitted on a frame with a bool column (scikit-learn
    scales it as 0 / 1) was refused as having a "categorical" column without naming its
    dtype or the cast that makes it work; the cast given then explains the pipeline."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(100, 10, 120), "flag": rng.random(120) > 0.5})
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    scaler = StandardScaler().fit(X)
    with pytest.raises(InvalidParameterError, match=r"'flag' \(bool\).*astype\(\{'flag': int\}\)"):
        xplain.Explainer(make_pipeline(scaler, net), data=X)
    cast = X.astype({"flag": int})
    e = xplain.Explainer(make_pipeline(scaler, net), data=cast).explain(cast.iloc[0], "saliency")
    with torch.no_grad():
        own = torch.softmax(net(torch.tensor(scaler.transform(X.iloc[[0]]),
                                             dtype=torch.float32)), -1)[0].numpy()
    np.testing.assert_allclose(e.prediction, own, atol=1e-6)


def test_h13_submodule_attributes() -> None:
    """``import xplain; xplain.views...`` / ``xplain.registry...`` worked while the package
    imported its modules eagerly; the lazy package raised AttributeError for them."""
    code = (
        "import sys, xplain\n"
        "assert xplain.views.DifferentiableView.__name__ == 'DifferentiableView'\n"
        "assert xplain.registry.check_method_name('lime') == 'lime'\n"
        "assert xplain.report.BatchReport.__name__ == 'BatchReport'\n"
        "assert not hasattr(xplain, 'no_such_module') and not hasattr(xplain, 'a.b')\n"
        "assert 'torch' not in sys.modules\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr


def test_h13_base_value_must_be_a_finite_number():
    """A NaN or text base value (a plugin's) was drawn as "f(x) nan" or crashed to_html."""
    import dataclasses

    from xplain.explanation import Explanation

    e = Explanation(
        features=["a", "b"], values=np.array([0.1, 0.2]), target=0, target_label="y",
        prediction=np.array([0.3]), labels=["y"], method="m", params={},
        diagnostics={"base_value": 0.5}, n_model_evals=0, seconds=0.0, modality="tabular",
        output="raw",
    )
    assert e.base_value == 0.5
    for bad in (float("nan"), float("inf"), "0.5", True):
        with pytest.raises(xplain.InvalidInputError, match="base_value"):
            dataclasses.replace(e, diagnostics={"base_value": bad})
    assert dataclasses.replace(e, diagnostics={}).base_value is None


def test_h13_raw_output_is_named_in_words():
    """A regressor's report said "explained: raw of prediction" and "raises the raw of ..."."""
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    model = Ridge().fit(X, X["a"] - X["b"])
    e = xplain.Explainer(model, data=X).explain(X.iloc[0], "exact_shapley")
    assert e.output == "raw"
    html = e.to_html()
    assert "raw output of" in html and "raw of" not in html
    assert "raises the raw output" in html
