"""Model-parameter randomisation (Adebayo et al. 2018): input-only maps fail, gradients pass."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from random_models import random_bert
from vector_models import vector_explainer

from xplain import metrics, registry
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods.base import GradientMethod

D = 30


class InputMagnitude(GradientMethod):
    """An "edge detector": |x|, whatever the model (Adebayo et al.'s failing baseline)."""

    name: ClassVar[str] = "input_magnitude"

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        return points.abs(), {}


@pytest.fixture(scope="module")
def trained():
    """An MLP trained to 100% training accuracy on a linear rule over 30 features."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    w = rng.normal(size=D)
    X = torch.as_tensor(rng.normal(size=(256, D)))
    y = torch.as_tensor((X.numpy() @ w > 0).astype(np.int64))
    net = torch.nn.Sequential(
        torch.nn.Linear(D, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
        torch.nn.Linear(16, 2),
    ).double()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    for _ in range(100):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(net(X), y).backward()
        optimiser.step()
    assert (net(X).argmax(1) == y).double().mean() > 0.95
    return net.eval(), rng.normal(size=(4, D))


@pytest.fixture
def edge_detector(monkeypatch):
    registry.method_names()  # load the built-in methods first
    monkeypatch.setitem(registry._REGISTRY, InputMagnitude.name, InputMagnitude)


def test_an_input_only_map_fails_and_saliency_passes(trained, edge_detector):
    net, rows = trained
    explainer = vector_explainer(net)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    last_saliency = []
    for x in rows:
        edges = metrics.model_parameter_randomisation(
            explainer, explainer.explain(x, "input_magnitude")
        )
        assert list(edges["layer"]) == ["4", "2", "0"]  # top layer first
        np.testing.assert_allclose(edges["spearman"], 1.0)  # fails: it ignores the model
        saliency = metrics.model_parameter_randomisation(
            explainer, explainer.explain(x, "saliency", absolute=False)
        )
        assert saliency["spearman_abs"].iloc[0] > 0.8  # the head alone barely matters
        last_saliency.append(saliency["spearman_abs"].iloc[-1])
    assert np.mean(last_saliency) < 0.4  # passes: ~0 expected, sd 0.19 per row at d=30
    assert explainer.model is net
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), key  # the user's model is untouched


def test_randomisation_is_seeded_and_layers_can_be_named(trained):
    net, rows = trained
    explainer = vector_explainer(net)
    explanation = explainer.explain(rows[0], "integrated_gradients")
    first = metrics.model_parameter_randomisation(explainer, explanation, seed=1)
    again = metrics.model_parameter_randomisation(explainer, explanation, seed=1)
    assert first.equals(again)
    named = metrics.model_parameter_randomisation(explainer, explanation, layers=["4"], seed=1)
    assert named.equals(first.iloc[:1])
    with pytest.raises(InvalidParameterError, match="'layers' parameter"):
        metrics.model_parameter_randomisation(explainer, explanation, layers=["head"])


def test_blocks_of_a_transformer_are_randomised_top_down():
    model = random_bert(50, hidden=8, layers=2, intermediate=8, positions=16)
    groups = metrics.layer_groups(model)
    assert [name for name, _ in groups] == [
        "classifier", "bert.pooler", "bert.encoder.layer.1", "bert.encoder.layer.0",
        "bert.embeddings",
    ]
    n_params = sum(p.numel() for _, params in groups for p in params)
    assert n_params == sum(p.numel() for p in model.parameters())


def test_non_torch_models_are_refused(trained):
    net, rows = trained
    explainer = vector_explainer(net)
    explanation = explainer.explain(rows[0], "saliency")
    explainer.model = object()
    with pytest.raises(MethodNotApplicableError, match="torch model"):
        metrics.model_parameter_randomisation(explainer, explanation)
