"""Findings 4 and 17: one completeness gap, honest before and after aggregation.

4. The methods report their own gap (``completeness_gap``, before the adapter aggregates
   per-dimension attributions into per-feature values) and ``delta`` = f(x) - f(reference);
   the Explanation adds the gap of the values shown (``completeness_gap_shown``) and a
   ``completeness_note`` when the aggregation (text "l2", RGB "max_abs") does not add up.
17. Near f(x) = f(reference) the gap is judged against the size of the scores, not against
   a clamp at 1e-12, so rounding is not reported as a gap of thousands and adaptive IG does
   not run to its step limit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xplain
from xplain.adapters.base import DifferentiableView
from xplain.methods._completeness import NEAR_ZERO, relative_gap
from xplain.methods.build import build_method

TEXT = "a gripping and moving film"


def _plain_gap(values: np.ndarray, delta: float) -> float:
    return abs(float(np.sum(values)) - delta) / abs(delta)


# -- finding 4 ----------------------------------------------------------------------------
@pytest.mark.parametrize("aggregation", ["l2", "mean"])
def test_f04_text_aggregation_that_does_not_add_up_is_reported(
    tiny_bert, minilm_tokenizer, aggregation
):
    summed = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    other = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, aggregation=aggregation)
    exact = summed.explain(TEXT, "integrated_gradients", target=0, n_steps=64)
    e = other.explain(TEXT, "integrated_gradients", target=0, n_steps=64)
    delta = e.diagnostics["delta"]
    # delta is f(x) - f(baseline): what the summed values add up to
    assert exact.values.sum() == pytest.approx(delta, rel=1e-8)
    assert exact.diagnostics["completeness_gap_shown"] < 1e-8
    assert "completeness_note" not in exact.diagnostics
    # the method's own attributions are complete; the values shown are not
    assert e.diagnostics["completeness_gap"] < 1e-8
    shown = e.diagnostics["completeness_gap_shown"]
    assert shown == pytest.approx(_plain_gap(e.values, delta), rel=1e-9)
    assert shown > 0.1
    note = e.diagnostics["completeness_note"]
    assert f"{e.values.sum():.4g}" in note and f"{delta:.4g}" in note


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.Tanh(),  # smooth: Gauss-Legendre IG is exact to rounding
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 3),
    ).double()


def test_f04_rgb_max_abs_reports_the_gap_of_the_values_shown(cnn):
    image = np.random.default_rng(0).random((8, 8, 3))
    ex = xplain.Explainer(cnn, modality="image")  # channel_aggregation="max_abs"
    e = ex.explain(image, "integrated_gradients", target=1, n_steps=64)
    delta = e.diagnostics["delta"]
    assert e.diagnostics["completeness_gap"] < 1e-6
    shown = e.diagnostics["completeness_gap_shown"]
    assert shown == pytest.approx(_plain_gap(e.values, delta), rel=1e-9)
    assert shown > 10 * e.diagnostics["completeness_gap"] and shown > 0.05
    assert "completeness_note" in e.diagnostics
    summed = xplain.Explainer(cnn, modality="image", channel_aggregation="sum")
    s = summed.explain(image, "integrated_gradients", target=1, n_steps=64)
    assert s.diagnostics["completeness_gap_shown"] < 1e-6
    assert "completeness_note" not in s.diagnostics


def test_f04_max_abs_of_one_channel_adds_up(cnn):
    torch.manual_seed(1)
    gray = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.Tanh(), torch.nn.Flatten(),
        torch.nn.Linear(2 * 8 * 8, 2),
    ).double()  # fmt: skip
    image = np.random.default_rng(1).random((8, 8, 1))
    e = xplain.Explainer(gray, modality="image").explain(image, "deeplift", target=0)
    assert e.diagnostics["completeness_gap_shown"] < 1e-9
    assert "completeness_note" not in e.diagnostics


def test_f04_shapley_methods_report_delta_and_their_shown_gap(small_text_explainer):
    e = small_text_explainer.explain(TEXT, "exact_shapley", target=1)
    assert e.values.sum() == pytest.approx(e.diagnostics["delta"], rel=1e-9)
    assert e.diagnostics["completeness_gap_shown"] < 1e-9
    assert "completeness_note" not in e.diagnostics


# -- finding 17 ---------------------------------------------------------------------------
def _mlp_view(x: torch.Tensor, baseline: torch.Tensor) -> DifferentiableView:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
        torch.nn.Linear(8, 3),
    )  # float32 fmt: skip
    return DifferentiableView(
        inputs=x, baseline=baseline, forward=net, aggregate=lambda a: a.flatten().numpy(),
        module=net,
    )  # fmt: skip


def test_f17_near_zero_difference_is_not_a_huge_gap_and_adaptive_ig_stops():
    torch.manual_seed(1)
    baseline = torch.randn(1, 6)
    x = baseline.clone()
    x[0, 0] += 1e-6  # f(x) - f(baseline) is below float32 rounding of the scores
    view = _mlp_view(x, baseline)
    ig = build_method("integrated_gradients", {}).attribute(view, 0)
    assert ig.diagnostics["n_steps"] == 15  # converged at once, not run to max_steps
    assert ig.diagnostics["completeness_gap"] < 1e-3
    assert abs(ig.diagnostics["convergence_delta"]) < 1e-6  # the absolute error
    deeplift = build_method("deeplift", {}).attribute(view, 0)
    assert deeplift.diagnostics["completeness_gap"] < 1e-3


def test_f17_the_gap_is_relative_until_delta_nears_zero():
    # a fair share of the scores: the plain relative error
    assert relative_gap(0.005, 0.5, 1.0) == pytest.approx(0.01)
    assert relative_gap(-0.005, -0.5, 1.0) == pytest.approx(0.01)
    # near zero: measured in units of NEAR_ZERO of the scores' scale
    assert relative_gap(1e-9, 1e-12, 2.0) == pytest.approx(1e-9 / (NEAR_ZERO * 2.0))
    assert relative_gap(0.0, 0.0, 0.0) == 0.0
    assert relative_gap(1e-3, 0.0, 0.0) == float("inf")


@pytest.mark.parametrize(
    "method, params",
    [
        ("integrated_gradients", {"n_steps": 4}),
        ("deeplift", {}),
        ("deepshap", {}),
        ("gradient_shap", {"n_samples": 7}),
    ],
)
def test_f17_every_gradient_method_reports_the_same_gap(method, params):
    torch.manual_seed(3)
    view = _mlp_view(torch.randn(1, 6), torch.zeros(1, 6))
    view.background = torch.randn(4, 6)
    result = build_method(method, params).attribute(view, 2)
    d = result.diagnostics
    with torch.no_grad():
        fx = view.forward(view.inputs)[0, 2].item()
    assert d["base_value"] + d["delta"] == pytest.approx(fx, rel=1e-5, abs=1e-6)
    assert d["convergence_delta"] == pytest.approx(
        result.values.sum().item() - d["delta"], rel=1e-4, abs=1e-6
    )
    scale = max(abs(fx), abs(d["base_value"]), result.values.abs().sum().item())
    expected = relative_gap(d["convergence_delta"], d["delta"], scale)
    assert d["completeness_gap"] == pytest.approx(expected, rel=1e-6)
