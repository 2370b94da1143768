"""max_sensitivity: known answers on linear models, both perturbation schemes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from vector_models import vector_explainer

from xplain import metrics
from xplain.errors import InvalidParameterError


def test_gradient_of_a_linear_model_does_not_move(additive):
    explainer, x, _, _ = additive
    saliency = explainer.explain(x, "saliency", target=1, absolute=False)
    assert metrics.max_sensitivity(explainer, saliency) == 0.0


def test_input_x_gradient_moves_within_its_bound(additive):
    explainer, x, w, truth = additive
    explanation = explainer.explain(x, "input_x_gradient", target=1)
    radius = 0.05
    value = metrics.max_sensitivity(explainer, explanation, radius=radius, n_samples=20)
    # phi(y) - phi(x) = w * (y - x) with |y - x| <= radius * range(x) elementwise
    bound = np.linalg.norm(w) * radius * np.ptp(x) / np.linalg.norm(truth)
    assert 0.3 * bound < value <= bound
    assert metrics.max_sensitivity(explainer, explanation, radius=radius, n_samples=20) == value
    assert metrics.max_sensitivity(explainer, explanation, radius=2 * radius) > value


@pytest.mark.parametrize("method", ["occlusion", "kernel_shap"])
def test_hiding_a_feature_leaves_additive_attributions_alone(additive, method):
    explainer, x, _, _ = additive
    explanation = explainer.explain(x, method, target=1)
    assert metrics.max_sensitivity(explainer, explanation, n_samples=4) == pytest.approx(
        0.0, abs=1e-9
    )


def test_hiding_a_feature_moves_attributions_of_an_interacting_model():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    explainer = vector_explainer(net.double())
    x = np.random.default_rng(0).normal(size=6)
    explanation = explainer.explain(x, "occlusion")
    value = metrics.max_sensitivity(explainer, explanation, n_samples=6)
    assert value > 0.05
    assert metrics.max_sensitivity(explainer, explanation, n_samples=2) <= value


def test_smooth_integrated_gradients_is_rebuilt_and_its_noise_kept(additive):
    explainer, x, w, _ = additive
    smooth_ig = explainer.explain(x, "integrated_gradients", target=1, noise_samples=3)
    assert smooth_ig.params["base"] == "integrated_gradients"
    # IG of a linear model is w * (point); with the same noise at every point, the change
    # is w * (y - x), exactly that of input x gradient, over a different norm
    ixg = explainer.explain(x, "input_x_gradient", target=1)
    ratio = np.linalg.norm(ixg.values) / np.linalg.norm(smooth_ig.values)
    assert metrics.max_sensitivity(explainer, smooth_ig) == pytest.approx(
        metrics.max_sensitivity(explainer, ixg) * ratio, rel=1e-9
    )


def test_parameters_are_validated(additive):
    explainer, x, _, _ = additive
    explanation = explainer.explain(x, "saliency")
    with pytest.raises(InvalidParameterError, match="'radius' parameter of max_sensitivity"):
        metrics.max_sensitivity(explainer, explanation, radius=0.0)

