"""BatchReport: global importance, beeswarm, text aggregation by token, validation."""

from __future__ import annotations

import html as html_module
import re

import numpy as np
import pytest

import xplain.report
from xplain.errors import InvalidParameterError
from xplain.report import BatchReport, render_batch, save_batch_html


def test_importance_is_mean_abs_per_feature_largest_first(tabular_batch):
    report = BatchReport(tabular_batch)
    frame = report.importance()
    assert list(frame.columns) == ["feature", "mean_abs", "mean", "count"]
    values = np.array([e.values for e in tabular_batch])  # [instances, features]
    expected = dict(zip(tabular_batch[0].features, np.abs(values).mean(0), strict=True))
    assert set(frame["feature"]) == set(expected)
    for row in frame.itertuples():
        assert row.mean_abs == pytest.approx(expected[row.feature])
        assert row.count == len(tabular_batch)
    assert frame["mean_abs"].is_monotonic_decreasing


def test_tabular_report_has_a_bar_per_feature_and_a_dot_per_instance(tabular_batch, tmp_path):
    report = BatchReport(tabular_batch)
    html = report.to_html()
    assert report._repr_html_() == html
    assert render_batch(tabular_batch) == html
    n_features = len(tabular_batch[0].features)
    assert html.count('<rect class="bar"') == n_features
    assert html.count('<circle class="dot"') == n_features * len(tabular_batch)
    labels = re.findall(r'<g class="swarm-row">\s*<text[^>]*><title>([^<]*)</title>', html)
    assert len(labels) == n_features
    assert labels[0] == str(report.importance()["feature"].iloc[0])
    page = save_batch_html(tabular_batch, tmp_path / "b.html").read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "http" not in page.lower()
    assert "<script" not in page.lower()


def test_numeric_values_colour_the_dots_and_others_are_grey(tabular_batch):
    html = BatchReport(tabular_batch).to_html()
    rows = re.findall(r'<g class="swarm-row">(.*?)</g>', html, re.S)
    by_feature = {re.search(r"<title>([^<]*)</title>", r).group(1): r for r in rows}
    age = set(re.findall(r'fill="(rgb[^"]*)"', by_feature["age"]))
    job = set(re.findall(r'fill="(rgb[^"]*)"', by_feature["job"]))
    assert len(age) > 5 and job == {"rgb(140, 149, 159)"}


def test_max_display_limits_the_charts_others_row_included(tabular_batch):
    report = BatchReport(tabular_batch, max_display=3)
    html = report.to_html()
    n, d = len(tabular_batch), len(tabular_batch[0].features)
    assert html.count('<rect class="bar"') == 3  # 2 features and "N other features"
    assert html.count('<circle class="dot"') == 3 * n
    frame = report.importance()
    bars = [html_module.unescape(t).rsplit(": ", 1) for t in
            re.findall(r'<g class="bar-row">\s*<title>([^<]*)</title>', html)]
    assert [f for f, _ in bars] == [*frame["feature"][:2], f"{d - 2} other features"]
    # the others' bar is the sum of their mean |values|
    assert float(bars[2][1]) == pytest.approx(frame["mean_abs"][2:].sum(), rel=1e-2)
    swarm = re.findall(r'<g class="swarm-row">\s*<text[^>]*><title>([^<]*)</title>', html)
    # the beeswarm has the same rows
    assert [html_module.unescape(t) for t in swarm] == [f for f, _ in bars]
    assert BatchReport(tabular_batch, max_display=d).to_html().count('<rect class="bar"') == d


def test_text_batches_aggregate_by_token_and_show_each_instance(text_batch):
    report = BatchReport(text_batch, max_instances=3)
    frame = report.importance()
    assert "[CLS]" not in set(frame["feature"]) and "[SEP]" not in set(frame["feature"])
    occurrences = [(f, v) for e in text_batch for f, v, s in zip(e.features, e.values,
                                                                   e.special, strict=True)
                   if f == "," and not s]
    row = frame.set_index("feature").loc[","]
    assert row["count"] == len(occurrences) == 3
    assert row["mean_abs"] == pytest.approx(np.mean([abs(v) for _, v in occurrences]))
    html = report.to_html()
    assert html.count('<li class="instance">') == 3 and "first 3 of 4" in html
    assert '<circle class="dot"' not in html  # no beeswarm over tokens
    assert html.count('<rect class="bar"') == min(20, len(frame))


def test_image_batches_show_each_instance(image_explainer, image):
    batch = image_explainer.explain_batch([image, image[::-1]], "saliency")
    html = BatchReport(batch).to_html()
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) == 4


def test_reachable_from_the_package():
    assert set(xplain.report.__all__) >= {"BatchReport", "render_batch", "save_batch_html"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ([], "non-empty list of Explanations. Got an empty list"),
        ("text", "must be a list of Explanations"),
        ([1], "Got a list holding int"),
    ],
)
def test_bad_batches_are_refused(given, message):
    with pytest.raises(InvalidParameterError, match=message):
        BatchReport(given)


def test_mixed_methods_and_bad_limits_are_refused(tabular_batch, tabular_comparison):
    with pytest.raises(InvalidParameterError, match="one method; got exact_shapley, lime"):
        BatchReport([tabular_batch[0], tabular_comparison.explanations["lime"]])
    with pytest.raises(InvalidParameterError, match="'max_display' parameter of BatchReport"):
        BatchReport(tabular_batch, max_display=0)
    with pytest.raises(InvalidParameterError, match="must be a list of Explanations"):
        BatchReport(tabular_batch[0])
