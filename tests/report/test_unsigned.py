"""Unsigned methods: which methods give magnitudes, how Explanation.signed travels, and how
reports draw magnitudes (sequential scale, their own legend, agreement on |values|)."""

from __future__ import annotations

import dataclasses
import re
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import xplain
from xplain.explanation import Explanation
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.methods.gradient.smoothgrad import Smooth
from xplain.registry import get_method
from xplain.report.render import colour
from xplain.scale.schema import to_explanation, to_table

MAGNITUDE = np.array([84, 39, 143])


@pytest.mark.parametrize(
    ("method", "params", "signed"),
    [
        ("saliency", {}, False),  # |gradient|, the paper's default
        ("saliency", {"absolute": False}, True),
        ("smoothgrad", {}, False),  # the mean of |gradient|s
        ("smoothgrad", {"base": "integrated_gradients"}, True),  # Smooth IG keeps the sign
        ("smoothgrad", {"base": "integrated_gradients", "variant": "smoothgrad_sq"}, False),
        ("smoothgrad", {"base": "integrated_gradients", "variant": "vargrad"}, False),
        ("grad_cam", {}, False),  # ReLU(sum_k alpha_k A^k)
        ("grad_cam", {"relu": False}, True),
        ("guided_grad_cam", {}, True),  # guided gradients (signed) times a map >= 0
        ("guided_backprop", {}, True),
        ("integrated_gradients", {}, True),
        ("xrai", {}, True),  # region densities of IG, negative for negative regions
        ("kernel_shap", {}, True),
        ("lime", {}, True),
    ],
)
def test_methods_say_whether_their_values_are_signed(method, params, signed):
    assert get_method(method)(**params).signed is signed


def test_a_smooth_wrapper_follows_its_method():
    assert Smooth(IntegratedGradients()).signed
    assert not Smooth(get_method("saliency")()).signed
    assert not Smooth(IntegratedGradients(), variant="smoothgrad_sq").signed


def _cnn() -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 8 * 8, 3)).double().eval()


def test_explanations_carry_signed_from_the_method_and_the_aggregation(image_explainer, image):
    assert not image_explainer.explain(image, "saliency").signed
    ig = image_explainer.explain(image, "integrated_gradients", n_steps=4)
    assert ig.signed and (np.asarray(ig.values) < 0).any()
    # an L2 norm over the channels turns any attribution into a magnitude
    l2 = xplain.Explainer(_cnn(), modality="image", channel_aggregation="l2")
    assert not l2.explain(image[:8, :8], "integrated_gradients", n_steps=4).signed
    batch = image_explainer.explain_batch([image, image[::-1]], "saliency")
    assert [e.signed for e in batch] == [False, False]


def test_signed_round_trips_through_dicts_and_dataset_rows(text_comparison):
    e = text_comparison.explanations["saliency"]
    assert not e.signed
    assert not Explanation.from_dict(e.to_dict()).signed
    assert Explanation.from_dict(e.to_dict()) == e
    old = {k: v for k, v in e.to_dict().items() if k != "signed"}  # written before the field
    assert Explanation.from_dict(old).signed
    row = to_table([0], [e], None).to_pylist()[0]  # what ExplanationDataset reads back
    assert not to_explanation(row, None).signed


def _rgb(text: str) -> np.ndarray:
    return np.array([int(v) for v in re.findall(r"\d+", text)])


def test_magnitudes_are_coloured_white_to_purple():
    for t in (0.0, 0.3, 1.0):
        expected = np.round(255 + t * (MAGNITUDE - 255)).astype(int)
        assert (_rgb(colour(t * 2, 2.0, signed=False)) == expected).all()
    assert colour(-1.0, 1.0) != colour(-1.0, 1.0, signed=False)  # blue vs purple


def test_unsigned_tokens_and_legend(text_comparison):
    e = text_comparison.explanations["saliency"]
    html = e.to_html()
    assert "magnitude (unsigned: larger = more important)" in html
    assert "blue lowers" not in html
    colours = re.findall(r'<span class="tok(?! special)[^"]*" style="background: (rgb[^"]*)"', html)
    assert len(colours) == len(e.features) - int(e.special.sum())
    for text in colours:  # every colour lies on the white-purple line: one t for r, g, b
        t = (255 - _rgb(text)) / (255 - MAGNITUDE)
        assert np.ptp(t) < 0.02
    ig = text_comparison.explanations["integrated_gradients"].to_html()
    assert "blue lowers, red raises" in ig and "magnitude (unsigned" not in ig


def test_unsigned_bars_grow_from_the_left(tabular_comparison):
    e = dataclasses.replace(tabular_comparison.explanations["occlusion"],
                            values=np.abs(tabular_comparison.explanations["occlusion"].values),
                            signed=False)
    html = e.to_html()
    assert html.count('<div class="dbar mag"><span class="mag" style="left: 0.00%') == len(
        e.features)
    assert "magnitude (unsigned" in html


def test_agreement_with_an_unsigned_method_compares_magnitudes(text_comparison):
    html = text_comparison.to_html()
    matrix = re.search(r'<table class="matrix">(.*?)</table>', html, re.S).group(1)
    cells = dict(re.findall(r'title="Spearman\(([^)]*)\) = [^"]*">([^<]*)</td>', matrix))
    e = text_comparison.explanations
    keep = ~e["saliency"].special
    for other in ("input_x_gradient", "integrated_gradients"):
        expected = stats.spearmanr(np.abs(e["saliency"].values[keep]),
                                   np.abs(e[other].values[keep])).statistic
        assert cells[f"|saliency|, |{other}|"] == f"{expected:.2f}"
    signed = text_comparison.agreement().set_index(["method_a", "method_b"])
    value = signed.loc[("input_x_gradient", "integrated_gradients"), "spearman"]
    assert cells["input_x_gradient, integrated_gradients"] == f"{value:.2f}"
    assert "of the |values| of both" in html
    assert re.search(r"<th scope=\"row\">saliency <span class=\"unsigned-mark\"", matrix)


def _html_matrix(c: xplain.Comparison) -> list[list[str]]:
    """The texts of the HTML report's agreement matrix, row by row."""
    table = re.search(r'<table class="matrix">(.*?)</table>', c.to_html(), re.S).group(1)
    return [re.findall(r'<td class="cell[^"]*"[^>]*>([^<]*)</td>', row)
            for row in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, re.S)]


@pytest.fixture(scope="module")
def mixed_comparison(text_explainer, text_comparison) -> xplain.Comparison:
    """saliency (unsigned), integrated_gradients and kernel_shap (signed) on the text."""
    text = text_comparison.explanations["saliency"].instance
    return text_explainer.compare(
        text, methods=["saliency", "integrated_gradients", "kernel_shap"],
        params={"integrated_gradients": {"n_steps": 8}, "kernel_shap": {"max_evals": 64}},
    )


def test_report_and_plot_show_one_agreement_matrix(mixed_comparison):
    import matplotlib.pyplot as plt

    from xplain import plot

    c = mixed_comparison
    frame = c.agreement_matrix()
    e = c.explanations
    keep = ~e["saliency"].special
    sal, ig, ks = (np.asarray(e[m].values)[keep]
                   for m in ("saliency", "integrated_gradients", "kernel_shap"))
    assert (ig < 0).any() and (ks < 0).any()  # |values| and values rank differently
    magnitude = stats.spearmanr(np.abs(sal), np.abs(ig)).statistic
    signed = stats.spearmanr(ig, ks).statistic
    assert frame.loc["saliency", "integrated_gradients"] == pytest.approx(magnitude)
    assert frame.loc["kernel_shap", "integrated_gradients"] == pytest.approx(signed)
    assert frame.attrs["magnitudes"] == [[False, True, True], [True, False, False],
                                         [True, False, False]]
    html = _html_matrix(c)
    assert html == [[f"{v:.2f}" for v in row] for row in frame.to_numpy()]
    ax = plot.agreement(c)
    drawn = np.asarray(ax.get_images()[0].get_array())
    np.testing.assert_allclose(drawn, frame.to_numpy())
    assert [t.get_text() for t in ax.texts] == [text for row in html for text in row]
    italic = [t.get_fontstyle() == "italic" for t in ax.texts]
    assert italic == [flag for row in frame.attrs["magnitudes"] for flag in row]
    assert "|values|" in ax.get_title()
    plt.close(ax.figure)


def test_agreement_matrix_measures_and_errors(mixed_comparison):
    c = mixed_comparison
    e = c.explanations
    keep = ~e["saliency"].special
    sal, ks = (np.asarray(e[m].values)[keep] for m in ("saliency", "kernel_shap"))
    kendall = c.agreement_matrix("kendall")
    assert kendall.loc["saliency", "kernel_shap"] == pytest.approx(
        stats.kendalltau(np.abs(sal), np.abs(ks)).statistic)
    jaccard = c.agreement_matrix("top_k_jaccard", k=3)
    pairs = c.agreement(k=3).set_index(["method_a", "method_b"])["top_k_jaccard"]
    assert jaccard.loc["integrated_gradients", "kernel_shap"] == pairs[
        ("integrated_gradients", "kernel_shap")]
    assert jaccard.attrs["magnitudes"] == [[i != j for j in range(3)] for i in range(3)]
    with pytest.raises(xplain.InvalidParameterError, match=r"'measure'.*Did you mean 'kendall'"):
        c.agreement_matrix("kendal")
    with pytest.raises(xplain.InvalidParameterError, match="'k' parameter"):
        c.agreement_matrix(k=0)


def test_agreement_matrix_warns_only_for_the_measure_asked(mixed_comparison):
    e = dict(mixed_comparison.explanations)
    n = int((~e["saliency"].special).sum())
    with warnings.catch_warnings():  # k >= features: top_k_jaccard undefined, Spearman not
        warnings.simplefilter("error", xplain.UndefinedMeasureWarning)
        frame = mixed_comparison.agreement_matrix(k=n)
    assert np.isfinite(frame.to_numpy()).all()
    e["saliency"] = dataclasses.replace(e["saliency"], values=np.zeros(len(e["saliency"].values)))
    zero = xplain.Comparison(None, e)
    with pytest.warns(xplain.UndefinedMeasureWarning, match="all zero"):
        frame = zero.agreement_matrix()
    assert np.isnan(frame.loc["saliency", ["integrated_gradients", "kernel_shap"]]).all()
    assert frame.loc["saliency", "saliency"] == 1.0
    with warnings.catch_warnings():  # the report shows a dash titled "undefined" instead
        warnings.simplefilter("error", xplain.UndefinedMeasureWarning)
        assert 'title="undefined">\u2014</td>' in zero.to_html()
