"""Explanation.to_html: the bars view (sorted, top-k, other features, base value, f(x),
standard errors, convergence), numbers in diagnostics, regressions, documents."""

from __future__ import annotations

import dataclasses
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

import xplain
from xplain.errors import InvalidParameterError
from xplain.report import BatchReport, render_document

ROW = re.compile(
    r'<tr class="bar-row( other)?">\s*<th class="feature" scope="row" title="([^"]*)">.*?'
    r'<td class="value">([^<]*)(?:<span class="se">([^<]*)</span>)?</td>', re.S
)


def rows(html: str) -> list[tuple[bool, str, float, str | None]]:
    return [(bool(o), f, float(v), se or None) for o, f, v, se in ROW.findall(html)]


def test_bars_are_the_top_k_by_magnitude_then_the_others_summed(wide_explanation):
    e = wide_explanation
    found = rows(e.to_html(max_display=6))  # 6 rows: 5 features and the others' row
    assert len(found) == 6
    order = np.argsort(-np.abs(e.values), kind="stable")
    assert [f for _, f, _, _ in found[:5]] == [escape(e.features[i]) for i in order[:5]]
    assert [v for _, _, v, _ in found[:5]] == pytest.approx(e.values[order[:5]], rel=1e-3)
    other, label, value, se = found[5]
    assert other and label == "9 other features" and se is None
    assert value == pytest.approx(e.values[order[5:]].sum(), rel=1e-3, abs=1e-6)
    assert len(rows(e.to_html())) == 10  # the default: 10 rows, as e.plot()
    assert len(rows(e.to_html(max_display=14))) == 14  # all fit: no "other" row
    assert len(rows(e.to_html(max_display=13))) == 13  # 12 features + "2 other features"


def test_max_display_means_the_same_rows_in_the_report_and_the_plot(wide_explanation):
    e = wide_explanation
    for k in (1, 4, 10, 13, 14, 20):
        drawn = [t.get_text() for t in e.plot("bar", max_display=k).get_yticklabels()]
        html = [f for _, f, _, _ in rows(e.to_html(max_display=k))]
        assert len(html) == len(drawn) == min(k, e.n_features)
        assert html[-1].endswith("other features") == drawn[-1].endswith("other features")


def test_bars_show_standard_errors_and_a_visible_convergence_warning(wide_explanation):
    e = wide_explanation
    assert e.diagnostics["converged"] is False
    html = e.to_html(max_display=6)
    se = np.asarray(e.diagnostics["std_err"])
    order = np.argsort(-np.abs(e.values), kind="stable")[:5]
    assert [s for _, _, _, s in rows(html)[:5]] == [f"\u00b1 {se[i]:.2g}" for i in order]
    assert html.count('<span class="err"') == 5
    warning = html.index('class="warn converged"')
    assert warning < html.index("<details>")  # not hidden in the collapsed section
    assert "array(" not in html and "dtype" not in html  # numbers, never a numpy repr
    assert re.search(r"<th scope=\"row\">std_err</th><td>\[[-0-9.e, ]+, \u2026\] \(14 values\)",
                     html)


def test_base_value_and_f_of_x(wide_explanation):
    e = wide_explanation
    html = e.to_html()
    base = e.diagnostics["base_value"]
    fx = base + e.diagnostics["delta"]
    assert fx == pytest.approx(e.prediction[e.target])  # probabilities explained
    assert f"base value <b>{base:.4g}</b>" in html and f"f(x) <b>{fx:.4g}</b>" in html
    without = dataclasses.replace(e, diagnostics={"converged": True})  # no base value
    html = without.to_html()
    assert "base value" not in html and f"f(x) <b>{e.prediction[e.target]:.4g}</b>" in html


def test_signed_bars_grow_from_the_centre(wide_explanation):
    html = wide_explanation.to_html(max_display=14)
    bars = re.findall(r'<span class="(pos|neg)" style="left: ([\d.]+)%; width: ([\d.]+)%"', html)
    assert len(bars) == 14
    for sign, left, width in bars:  # positive bars start at 50%, negative ones end there
        edge = float(left) if sign == "pos" else float(left) + float(width)
        assert edge == pytest.approx(50, abs=0.01)


def test_max_display_is_validated(wide_explanation, tmp_path):
    with pytest.raises(InvalidParameterError, match="'max_display' parameter of to_html"):
        wide_explanation.to_html(max_display=0)
    page = wide_explanation.save_html(tmp_path / "e.html", max_display=3).read_text("utf-8")
    assert len(rows(page)) == 3


@pytest.fixture(scope="module")
def regression(table):
    from sklearn.linear_model import Ridge

    numeric = table.drop(columns=["job"]).astype(float)
    model = Ridge().fit(numeric, 60 + 0.5 * numeric["age"])
    explainer = xplain.Explainer(model, data=numeric.iloc[:30])
    return explainer, numeric


def test_a_regression_report_never_says_p(regression):
    explainer, numeric = regression
    e = explainer.explain(numeric.iloc[40], "kernel_shap")
    c = explainer.compare(numeric.iloc[40], ["kernel_shap", "occlusion"])
    batch = explainer.explain_batch([numeric.iloc[i] for i in range(3)], "occlusion")
    for html in (e.to_html(), c.to_html(), BatchReport(batch).to_html(), repr(e), repr(c)):
        assert not re.search(r"\bp ?=", html)
    assert f"prediction = {e.prediction[0]:.6g}" in e.to_html()
    assert f"f(x) <b>{e.prediction[0]:.4g}</b>" in e.to_html()


def test_a_document_has_one_heading_per_instance(text_explanation, tabular_explanation):
    html = render_document("title <b>", [
        ("Section <i>", [("Instance 1 <u>", [text_explanation]),
                         ("Instance 2", [tabular_explanation])]),
        ("Flat", [text_explanation]),
    ])
    assert html.count("<h1>") == 2
    assert re.findall(r'<section class="instance"><h2>([^<]*)</h2>', html) == [
        "Instance 1 &lt;u&gt;", "Instance 2"]
    assert "<i>" not in html and "<u>" not in html and "title &lt;b&gt;" in html


def test_diagnostic_arrays_show_as_numbers():
    from xplain.report.render import _fmt

    assert _fmt(np.array([0.5, 1 / 3])) == "[0.5, 0.3333]"
    assert _fmt(np.arange(20.0)) == "[0, 1, 2, 3, 4, 5, 6, 7, \u2026] (20 values)"
    assert _fmt([np.float32(2.5), np.int64(3), True]) == "[2.5, 3, True]"
    assert _fmt(pd.Series([1.0]).to_numpy()) == "[1]"


def _base_tooltip(e) -> str:
    found = re.search(r'<span class="base-value" title="([^"]*)">', e.to_html())
    return unescape(found.group(1))


def test_the_base_value_tooltip_says_what_this_base_value_is(wide_explainer, wide_table):
    from sklearn.ensemble import RandomForestClassifier

    row = wide_table.iloc[0]
    lime = wide_explainer.explain(row, "lime", num_samples=300)
    assert _base_tooltip(lime) == f"base value: {lime.diagnostics['base_value_source']}"
    assert "surrogate's intercept" in _base_tooltip(lime)
    shap = wide_explainer.explain(row, "kernel_shap", max_evals=300)
    assert "expected output over the background" in _base_tooltip(shap)
    y = wide_explainer.model.predict(wide_table)
    forest = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0)
    trees = xplain.Explainer(forest.fit(wide_table, y), data=wide_table.iloc[:30])
    path = trees.explain(row, "tree_shap", feature_perturbation="tree_path_dependent")
    assert "training data recorded in the trees" in _base_tooltip(path)
    assert "background" not in _base_tooltip(path).replace("no background", "")
    interventional = trees.explain(row, "tree_shap", feature_perturbation="interventional")
    assert "mean score of the background rows" in _base_tooltip(interventional)
    # the base values differ: one is the training cover's mean, the other the background's
    assert path.base_value != pytest.approx(interventional.base_value, abs=1e-6)
