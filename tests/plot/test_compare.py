"""plot.comparison (one panel per method, one feature order) and plot.agreement (the
annotated Spearman matrix), and Comparison.plot delegating to them."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from plot_factories import make
from scipy import stats

import xplain
from xplain import plot
from xplain.comparison import Comparison

# method a ranks f0 first, but relative to each method's scale f2 leads on average
A = [1.0, 0.2, 0.9, -0.1, 0.05]
B = [10.0, -2.0, -100.0, 3.0, 1.0]
C = [0.02, 0.01, 0.03, 0.0, 0.005]


def _comparison():
    return Comparison(None, {
        "kernel_shap": make(A),
        "integrated_gradients": make(B, method="integrated_gradients"),
        "saliency": make(C, method="saliency", signed=False),
    })


def test_one_panel_per_method_in_the_shared_order_of_mean_relative_magnitude():
    panels = plot.comparison(_comparison(), max_display=3)
    assert panels.shape == (3,)
    relative = np.mean([np.abs(v) / np.abs(v).max() for v in (A, B, C)], axis=0)
    order = np.argsort(-relative, kind="stable")
    assert list(order[:2]) == [2, 0]
    assert [t.get_text() for t in panels[0].get_yticklabels()] == ["f2", "f0", "3 other features"]
    for ax, values in zip(panels, (A, B, C), strict=True):
        values = np.asarray(values)
        widths = [p.get_width() for p in ax.patches]
        np.testing.assert_allclose(widths, [values[2], values[0], values[[1, 3, 4]].sum()])


def test_each_panel_has_its_own_scale_and_says_when_it_is_unsigned():
    panels = plot.comparison(_comparison())
    spans = [np.ptp(ax.get_xlim()) for ax in panels]
    assert spans[1] > 50 * spans[0] > 50 * spans[2]
    assert [ax.get_title() for ax in panels] == [
        "kernel_shap", "integrated_gradients", "saliency (unsigned)"
    ]


def test_comparison_draws_on_the_axes_given_and_refuses_a_wrong_count():
    import matplotlib.pyplot as plt

    _, given = plt.subplots(1, 3)
    assert list(plot.comparison(_comparison(), axes=given)) == list(given)
    with pytest.raises(xplain.InvalidParameterError, match=r"one Axes per method \(3\)"):
        plot.comparison(_comparison(), axes=given[:2])
    with pytest.raises(xplain.InvalidInputError, match="Comparison"):
        plot.comparison({"a": 1})


def _html_matrix(c: Comparison) -> list[list[str]]:
    """The texts of the HTML report's agreement matrix, row by row."""
    table = re.search(r'<table class="matrix">(.*?)</table>', c.to_html(), re.S).group(1)
    return [re.findall(r'<td class="cell[^"]*"[^>]*>([^<]*)</td>', row)
            for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S)]


def test_agreement_is_the_reports_matrix_magnitudes_against_an_unsigned_method():
    c = _comparison()  # kernel_shap, integrated_gradients, saliency (unsigned)
    ax = plot.agreement(c)
    (image,) = ax.get_images()
    matrix = np.asarray(image.get_array())
    signed = stats.spearmanr(A, B).statistic
    ig_saliency = stats.spearmanr(np.abs(B), np.abs(C)).statistic
    assert ig_saliency != pytest.approx(stats.spearmanr(B, C).statistic)  # the test can fail
    assert matrix[0, 1] == matrix[1, 0] == pytest.approx(signed)
    assert matrix[1, 2] == matrix[2, 1] == pytest.approx(ig_saliency)
    assert matrix[0, 2] == pytest.approx(stats.spearmanr(np.abs(A), np.abs(C)).statistic)
    np.testing.assert_array_equal(np.diag(matrix), 1.0)
    html = _html_matrix(c)
    assert [t.get_text() for t in ax.texts] == [text for row in html for text in row]
    assert [t.get_text() for t in ax.texts] == [f"{v:.2f}" for v in matrix.ravel()]
    # the cells that compare |values| are in italics, as in the report
    italic = [[ax.texts[3 * r + col].get_fontstyle() == "italic" for col in range(3)]
              for r in range(3)]
    assert italic == [[False, False, True], [False, False, True], [True, True, False]]
    assert "Spearman rank correlation" in ax.get_title()
    assert "of the |values| of both" in ax.get_title()
    assert "saliency\n(unsigned)" in [t.get_text() for t in ax.get_yticklabels()]


def test_agreement_of_signed_methods_says_so_and_other_measures():
    c = Comparison(None, {"kernel_shap": make(A),
                          "integrated_gradients": make(B, method="integrated_gradients")})
    ax = plot.agreement(c, measure="kendall")
    assert np.asarray(ax.get_images()[0].get_array())[0, 1] == pytest.approx(
        stats.kendalltau(A, B).statistic)
    assert ax.get_title() == "Kendall rank correlation of the attributions"
    assert all(t.get_fontstyle() == "normal" for t in ax.texts)
    ax = plot.agreement(c, k=3, measure="top_k_jaccard")  # top 3: {f0, f1, f2}, {f2, f0, f3}
    assert np.asarray(ax.get_images()[0].get_array())[0, 1] == pytest.approx(2 / 4)
    assert "3 features with the largest |value|" in ax.get_title()
    with pytest.raises(xplain.InvalidParameterError, match="'measure' parameter"):
        plot.agreement(c, measure="pearson")


def test_comparison_plot_delegates_by_kind():
    c = _comparison()
    assert len(c.plot()) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xplain.UndefinedMeasureWarning)
        assert "Spearman" in c.plot("agreement", k=2).get_title()
    with pytest.raises(xplain.InvalidParameterError, match="'kind' parameter of Comparison"):
        c.plot("heatmap")


def test_the_html_comparison_rows_follow_the_plots_order():
    from xplain.report.comparison import render_comparison

    c = _comparison()
    html = render_comparison(c)
    rows = re.findall(r'<th class="feature" scope="row"[^>]*>\s*([^<\s]+)', html)
    drawn = [t.get_text() for t in plot.comparison(c, max_display=5)[0].get_yticklabels()]
    relative = np.mean([np.abs(v) / np.abs(v).max() for v in (A, B, C)], axis=0)
    assert rows == drawn == [f"f{i}" for i in np.argsort(-relative, kind="stable")]
