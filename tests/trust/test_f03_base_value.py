"""Finding 3: every SHAP-family method explains the same base value E_w[f(background)].

A tabular background is a k-means summary: rows with unequal weights. kernel_shap,
exact_shapley and tree_shap explain ``f(x) - sum_k w_k f(b_k)``; DeepSHAP must average
its DeepLIFT runs with the same weights, GradientSHAP must draw background rows with
those probabilities, and each reports ``diagnostics["base_value"]`` and measures its
completeness gap against it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import GradientBoostingClassifier

import xplain
from xplain.adapters import TabularEncoder
from xplain.adapters.base import DifferentiableView
from xplain.methods.gradient.deeplift import DeepLift
from xplain.methods.gradient.deepshap import DeepShap
from xplain.methods.gradient.gradient_shap import GradientShap

SHAPLEY = ("kernel_shap", "exact_shapley")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 300
    return pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(),
            "hours": rng.uniform(10, 60, n).round(),
            "job": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
            "score": rng.normal(0, 1, n),
        }
    )


@pytest.fixture(scope="module")
def mlp_explainer(frame):
    """A float64 ReLU MLP over the encoded rows; a k-means background of 12 weighted rows."""
    encoder = TabularEncoder().fit(frame)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(encoder.n_outputs, 16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 2),
    ).double()
    ex = xplain.Explainer(mlp, data=frame, encoder=encoder, background_size=12)
    weights = ex.adapter.background.weights
    assert len(weights) == 12 and weights.max() > 2 * weights.min()  # really unequal
    return ex


def _weighted_base(ex, target: int) -> float:
    """E_w f(background), computed here from the adapter's rows and weights."""
    background = ex.adapter.background
    inputs = torch.as_tensor(ex.adapter.encoder.encode(background.rows), dtype=torch.float64)
    with torch.no_grad():
        logits = ex.adapter.torch_module()(inputs)[:, target].numpy()
    return float(background.weights @ logits)


def test_f03_deepshap_sums_to_the_difference_the_shapley_methods_explain(mlp_explainer, frame):
    ex, row = mlp_explainer, frame.iloc[7]
    deep = ex.explain(row, method="deepshap", target=1)
    exact = ex.explain(row, method="exact_shapley", target=1)
    base = _weighted_base(ex, 1)
    # the same base value, from every SHAP-family method
    assert deep.diagnostics["base_value"] == pytest.approx(base, rel=1e-10)
    assert exact.diagnostics["base_value"] == pytest.approx(base, rel=1e-10)
    fx = base + exact.values.sum()  # exact Shapley values are efficient
    assert deep.diagnostics["delta"] == pytest.approx(fx - base, rel=1e-9)
    # DeepLIFT is exact on a ReLU MLP, so DeepSHAP sums to f(x) - E_w f(b) too
    assert deep.values.sum() == pytest.approx(exact.values.sum(), rel=1e-9)
    assert deep.diagnostics["completeness_gap"] < 1e-9
    uniform = fx - _uniform_base(ex, 1)
    assert abs(uniform - (fx - base)) > 0.01  # the weights matter on this background


def test_f03_deepshap_subset_of_a_weighted_background_keeps_its_base_value(mlp_explainer, frame):
    ex, row = mlp_explainer, frame.iloc[7]
    e = ex.explain(row, method="deepshap", target=1, max_background=5, seed=3)
    assert e.diagnostics["n_background"] <= 5
    # the gap is measured against E_w f(b) over all 12 rows, not the subset's mean
    assert e.diagnostics["base_value"] == pytest.approx(_weighted_base(ex, 1), rel=1e-10)
    error = e.values.sum() - e.diagnostics["delta"]
    assert e.diagnostics["convergence_delta"] == pytest.approx(error, rel=1e-9)


def _uniform_base(ex, target: int) -> float:
    background = ex.adapter.background
    inputs = torch.as_tensor(ex.adapter.encoder.encode(background.rows), dtype=torch.float64)
    with torch.no_grad():
        return float(ex.adapter.torch_module()(inputs)[:, target].mean())


@pytest.mark.parametrize("method", ["gradient_shap", *SHAPLEY])
def test_f03_every_shap_method_reports_the_weighted_base_value(mlp_explainer, frame, method):
    ex, row = mlp_explainer, frame.iloc[3]
    e = ex.explain(row, method=method, target=0)
    assert e.diagnostics["base_value"] == pytest.approx(_weighted_base(ex, 0), rel=1e-10)


def test_f03_gradient_shap_sums_to_the_weighted_difference(mlp_explainer, frame):
    ex, row = mlp_explainer, frame.iloc[3]
    exact = ex.explain(row, method="exact_shapley", target=0)
    grad = ex.explain(row, method="gradient_shap", target=0, n_samples=4000)
    # a Monte-Carlo estimate of the same total: gap measured against E_w f(b)
    assert grad.diagnostics["delta"] == pytest.approx(exact.values.sum(), rel=1e-9)
    assert grad.values.sum() == pytest.approx(exact.values.sum(), rel=0.05)
    assert grad.diagnostics["completeness_gap"] < 0.05


def _linear_view(weights: np.ndarray | None) -> tuple[DifferentiableView, torch.nn.Module]:
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 2).double()
    x = torch.tensor([[1.0, 2.0, -1.0]], dtype=torch.float64)
    background = torch.tensor([[0.0, 0.0, 0.0], [4.0, -3.0, 2.0]], dtype=torch.float64)
    view = DifferentiableView(
        inputs=x,
        baseline=background[:1],
        forward=model,
        aggregate=lambda a: a.flatten().numpy(),
        background=background,
        background_weights=weights,
        module=model,
    )
    return view, model


def test_f03_gradient_shap_draws_background_rows_with_their_weights():
    weights = np.array([0.9, 0.1])
    view, model = _linear_view(weights)
    with torch.no_grad():
        fx = model(view.inputs)[0, 1].item()
        fb = model(view.background)[:, 1].numpy()
    result = GradientShap(n_samples=4000, seed=0).attribute(view, 1)
    expected = fx - weights @ fb
    # on a linear model each sample adds up exactly; only the drawn rows vary
    assert abs(result.values.sum().item() - expected) < 0.05 * abs(fb[1] - fb[0])
    assert result.diagnostics["base_value"] == pytest.approx(weights @ fb, rel=1e-12)
    uniform = fx - fb.mean()
    assert abs(result.values.sum().item() - uniform) > 0.3 * abs(fb[1] - fb[0])


def test_f03_deepshap_is_deeplift_averaged_with_the_background_weights():
    weights = np.array([0.75, 0.25])
    view, model = _linear_view(weights)
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    net = net.double()
    view.forward, view.module = net, net
    result = DeepShap().attribute(view, 0)
    each = [
        DeepLift().attribute(
            DifferentiableView(
                inputs=view.inputs,
                baseline=view.background[k : k + 1],
                forward=net,
                aggregate=view.aggregate,
                module=net,
            ),
            0,
        ).values
        for k in range(2)
    ]
    torch.testing.assert_close(result.values, 0.75 * each[0] + 0.25 * each[1])
    with torch.no_grad():
        scores = net(torch.cat([view.inputs, view.background]))[:, 0]
    base = float(weights @ scores[1:].numpy())
    assert result.diagnostics["base_value"] == pytest.approx(base, rel=1e-12)
    assert result.diagnostics["delta"] == pytest.approx(scores[0].item() - base, rel=1e-12)


def test_f03_tree_shap_and_the_shapley_methods_share_the_base_value(frame):
    target = (frame["age"] > 40).astype(int)
    codes = frame.assign(job=frame["job"].cat.codes)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)
    model.fit(codes, target)
    ex = xplain.Explainer(model, data=codes, background_size=12)
    row = codes.iloc[5]
    bases = {
        method: ex.explain(row, method=method, target=1).diagnostics["base_value"]
        for method in ("tree_shap", *SHAPLEY)
    }
    expected = float(ex.adapter.base_scores(ex.output)[1])
    for method, base in bases.items():
        assert base == pytest.approx(expected, rel=1e-9), method
