"""Comparison.to_html: methods side by side, agreement heat map, metrics with the best marked."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from xplain.report.comparison import metrics_table
from xplain.report.render import display_token


def test_one_to_html_behind_repr_and_save(text_comparison, tmp_path):
    html = text_comparison.to_html()
    assert text_comparison._repr_html_() == html
    assert html.startswith("<style>")
    path = text_comparison.save_html(tmp_path / "c.html")
    page = path.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower() and "http" not in page.lower()


def test_text_rows_hold_the_same_tokens_for_every_method_as_one_run(text_comparison):
    html = text_comparison.to_html()
    tables = re.findall(r'<table class="heat-rows">(.*?)</table>', html, re.S)
    assert len(tables) == 1  # one flowing run per method, no blocks of characters
    rows = re.findall(r'<tr class="heat-row" data-method="([^"]*)">(.*?)</tr>', tables[0], re.S)
    assert [name for name, _ in rows] == text_comparison.methods
    tokens = [re.findall(r'<span class="tok[^"]*"[^>]*>(.*?)</span>', row, re.S)
              for _, row in rows]
    assert all(t == tokens[0] for t in tokens)  # same tokens in every row
    expected = [display_token(t).lstrip() for t in text_comparison.features]
    assert tokens[0] == expected  # the word's space is outside its coloured box


def test_tabular_features_share_one_order_ranked_by_scaled_mean_abs(tabular_comparison):
    html = tabular_comparison.to_html()
    row = r'<tr class="feature-row">\s*<th class="feature" scope="row" title="([^"]*)"'
    names = re.findall(row, html)
    frame = tabular_comparison.to_frame()
    values = frame[tabular_comparison.methods].abs()
    relative = (values / values.max()).mean(axis=1)
    order = relative.sort_values(ascending=False, kind="stable").index
    assert names == [str(escape(f)) for f in frame.loc[order, "feature"]]
    bars = re.findall(r'<div class="dbar"><span class="bar (pos|neg)"', html)
    assert len(bars) == len(names) * len(tabular_comparison.methods)
    age = tabular_comparison.explanations["occlusion"].instance["age"]
    assert f'title="age">age <span class="v">= {age}</span>' in html  # the instance's value


def test_image_panels_are_inline_pngs_one_per_method(image_comparison):
    html = image_comparison.to_html()
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == 1 + len(image_comparison.methods)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for name in image_comparison.methods:
        assert f"<figcaption>{name}" in html


def test_agreement_matrix_holds_spearman_of_every_pair(tabular_comparison):
    html = tabular_comparison.to_html()
    matrix = re.search(r'<table class="matrix">(.*?)</table>', html, re.S).group(1)
    cells = re.findall(r'<td class="cell[^"]*"[^>]*title="([^"]*)">([^<]*)</td>', matrix)
    n = len(tabular_comparison.methods)
    assert len(cells) == n * n
    frame = tabular_comparison.agreement()
    row = frame.iloc[0]
    assert f"{row.spearman:.2f}" in [text for _, text in cells]
    assert sum(text == "1.00" for _, text in cells) >= n  # the diagonal


def test_the_best_value_of_each_metric_is_marked_by_its_direction():
    frame = pd.DataFrame(
        {
            "deletion_auc": [0.3, 0.1, 0.2],
            "insertion_auc": [0.3, 0.9, 0.9],
            "comprehensiveness@5%": [0.5, 0.1, np.nan],
            "completeness_gap": [np.nan, np.nan, np.nan],
            "seconds": [0.5, 0.2, 0.3],
            "n_model_evals": [10, 300, 20],
        },
        index=pd.Index(["a", "b", "c"], name="method"),
    )
    frame.attrs["higher_is_better"] = {
        "deletion_auc": False, "insertion_auc": True, "comprehensiveness": True,
        "completeness_gap": False,
    }
    table = metrics_table(frame)
    best = {
        column["name"]: [row["method"] for row in table["rows"] if row["cells"][i]["best"]]
        for i, column in enumerate(table["header"])
    }
    assert best == {
        "deletion_auc": ["b"], "insertion_auc": ["b", "c"], "comprehensiveness@5%": ["a"],
        "completeness_gap": [], "seconds": ["b"], "n_model_evals": ["a"],
    }
    arrows = {column["name"]: column["arrow"] for column in table["header"]}
    assert arrows["deletion_auc"] == "\u2193" and arrows["insertion_auc"] == "\u2191"
    assert table["rows"][0]["cells"][3]["na"]


def test_metrics_section_renders_what_evaluate_returns(text_comparison):
    frame = text_comparison.evaluate()
    html = text_comparison.to_html()
    section = re.search(r'<table class="metrics">(.*?)</table>', html, re.S).group(1)
    for column in frame.columns:
        assert f">{column} " in section
    assert section.count('class="best"') >= 1
    assert section.count("<tr>") == len(frame) + 1
    assert text_comparison.evaluate().equals(frame)  # cached, nothing recomputed


def test_evaluate_false_leaves_the_metrics_out(text_explainer):
    from xplain.comparison import Comparison

    class Refuse(Comparison):
        def evaluate(self, *args, **kwargs):
            raise AssertionError("evaluate must not run")

    c = text_explainer.compare("a film", methods=["saliency", "input_x_gradient"])
    html = Refuse(c.explainer, c.explanations).to_html(evaluate=False)
    assert 'class="metrics"' not in html and 'class="matrix"' in html


@pytest.mark.parametrize("kind", ["text", "tabular", "image"])
def test_a_single_method_has_no_agreement_section(kind, text_comparison, tabular_comparison,
                                                  image_comparison):
    from xplain.comparison import Comparison

    source = {"text": text_comparison, "tabular": tabular_comparison,
              "image": image_comparison}[kind]
    name = source.methods[0]
    single = Comparison(source.explainer, {name: source.explanations[name]}, metrics=())
    html = single.to_html()
    assert 'class="matrix"' not in html and name in html
