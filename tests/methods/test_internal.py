"""Conductance and internal influence: closed forms, parity with Captum, results, errors.

References: Dhamdhere, Sundararajan and Yan (2018), "How Important Is a Neuron?" (layer
conductance ``sum_k dF/dy_j(alpha_k) (y_j(alpha_{k+1}) - y_j(alpha_k))``, neuron
conductance eq. 3); Leino et al. (2018), "Influence-Directed Explanations" (internal
influence ``E_P[dF/dy_j]``). Captum's LayerConductance, InternalInfluence and
NeuronConductance implement the same sums and are the reference here.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import InternalInfluence, LayerConductance, NeuronConductance
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

import xplain
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    InvalidTargetError,
    MethodNotApplicableError,
)
from xplain.internal import (
    LayerAttribution,
    internal_influence,
    layer_conductance,
    neuron_conductance,
)
from xplain.internal._layers import setup

SIDE = 8


def make_cnn() -> nn.Sequential:
    """Conv-Tanh-Conv-ReLU-Pool-Linear on ``[B, 3, 8, 8]``, 4 classes (float64)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.Tanh(),  # "1": units [4, 8, 8]
            nn.Conv2d(4, 5, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(20, 4),
        )
    return model.double().eval()


def image(seed: int = 0) -> torch.Tensor:
    return torch.rand(3, SIDE, SIDE, generator=torch.Generator().manual_seed(seed)).double()


def make_mlp() -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = nn.Sequential(
            nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 6), nn.Softplus(), nn.Linear(6, 3)
        )
    return model.double().eval()


class Spare(nn.Module):
    """An MLP with a layer its forward never calls and one it calls twice."""

    def __init__(self) -> None:
        super().__init__()
        self.inner, self.spare, self.twice = nn.Linear(4, 4), nn.Linear(4, 4), nn.Tanh()
        self.head = nn.Linear(4, 2)
        self.double().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.twice(self.inner(self.twice(x))))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rows = np.random.default_rng(0).normal(size=(30, 4))
    return pd.DataFrame(rows, columns=["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def tabular(table):
    return xplain.Explainer(make_mlp(), data=table)


@pytest.fixture(scope="module")
def text(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


def relative_error(ours, theirs) -> float:
    ours, theirs = torch.tensor(np.array(ours)).double(), torch.as_tensor(theirs).double()
    return float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-300))


def first(out):
    """Captum returns a tuple for a layer whose output is a tuple."""
    return out[0] if isinstance(out, tuple) else out


# -- hand-computed values --------------------------------------------------------------------
def test_conductance_of_a_linear_read_out_is_weight_times_change():
    # F = v . y with y = W x + b (no non-linearity after the layer): dF/dy_j = v_j, so
    # Cond_j = v_j (y_j(x) - y_j(x')) exactly, for any trapezoid step count
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double().eval()
    data = pd.DataFrame(np.random.default_rng(1).normal(size=(10, 3)), columns=list("xyz"))
    ex = xplain.Explainer(model, data=data)
    row = data.iloc[0]
    a = layer_conductance(ex, row, "0", target=1, n_steps=3, rule="riemann_trapezoid")
    x = torch.tensor(row.to_numpy())[None]
    base = torch.tensor(data.mean().to_numpy())[None]  # the tabular baseline: mean row
    with torch.no_grad():
        change = model[0](x) - model[0](base)  # [1, 4]
    expected = (model[1].weight[1] * change[0]).detach().numpy()
    np.testing.assert_allclose(a.values, expected, rtol=1e-12, atol=1e-14)
    assert a.completeness_gap < 1e-10 and a.unit_shape == (4,)
    # internal influence of a linear read-out is its weight row, whatever the distribution
    for distribution in ("point", "path"):
        inf = internal_influence(ex, row, "0", target=1, distribution=distribution)
        np.testing.assert_allclose(inf.values, model[1].weight[1].detach(), rtol=1e-12)
    many = internal_influence(ex, data.iloc[:4], "0", target=1, distribution="instances")
    np.testing.assert_allclose(many.values, model[1].weight[1].detach(), rtol=1e-12)


def test_point_influence_is_the_gradient_at_the_layer(tabular, table):
    row = table.iloc[2]
    inf = internal_influence(tabular, row, "2", target=0, distribution="point")
    # by hand: F = W3 softplus(h) + b3, h = layer "2"'s output: dF/dh = W3[0] * sigmoid(h)
    model = tabular.model
    x = torch.tensor(row.to_numpy())[None]
    with torch.no_grad():
        h = model[2](model[1](model[0](x)))[0]
    expected = model[4].weight[0].detach() * torch.sigmoid(h)
    np.testing.assert_allclose(inf.values, expected.numpy(), rtol=1e-10)
    assert inf.completeness_gap is None and inf.base_score is None


def test_instances_influence_is_the_mean_of_point_influences(tabular, table):
    rows = [table.iloc[i] for i in range(5)]
    many = internal_influence(tabular, rows, "1", target=2, distribution="instances")
    points = [internal_influence(tabular, r, "1", target=2, distribution="point") for r in rows]
    np.testing.assert_allclose(many.values, np.mean([p.values for p in points], axis=0))
    # target None: the class predicted most often over the set
    predicted = [int(np.argmax(tabular.adapter.predict(tabular.adapter.encode(r)))) for r in rows]
    counts = np.bincount(predicted, minlength=3)
    assert internal_influence(
        tabular, rows, "1", distribution="instances"
    ).target == int(np.argmax(counts))


# -- completeness ----------------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("gradient_at", ["mean", "left"])
def test_conductance_sums_to_the_score_change_within_the_reported_gap(
    tabular, table, rule, gradient_at
):
    row = table.iloc[3]
    gaps = []
    for n in (8, 64):
        a = layer_conductance(tabular, row, "2", n_steps=n, rule=rule, gradient_at=gradient_at)
        error = a.total - a.delta
        assert error == pytest.approx(a.diagnostics["convergence_delta"], abs=1e-12)
        assert abs(error) <= a.completeness_gap * abs(a.delta) * (1 + 1e-9)
        gaps.append(a.completeness_gap)
    assert gaps[1] < gaps[0] and gaps[1] < 0.01  # first order: shrinks as n_steps grows


def test_conductance_on_text_sums_to_the_score_change(text):
    a = layer_conductance(text, "a gripping funny film", "encoder.layer.1", n_steps=64)
    left = layer_conductance(
        text, "a gripping funny film", "encoder.layer.1", n_steps=64, gradient_at="left"
    )
    assert a.completeness_gap < 1e-4 < 0.01 < left.completeness_gap  # second vs first order
    assert a.layer == "bert.encoder.layer.1"  # the unique end of a full name
    tokens = a.positions
    assert tokens is not None and tokens[0] == "[CLS]" and a.unit_shape == (len(tokens), 32)
    assert abs(a.total - a.delta) <= a.completeness_gap * abs(a.delta) * (1 + 1e-9)
    np.testing.assert_allclose(a.per_position.sum(), a.total)
    np.testing.assert_allclose(a.per_unit, a.values.sum(0))  # hidden units, summed over tokens
    assert a.per_position.shape == (len(tokens),) and a.per_unit.shape == (32,)


# -- parity with Captum ----------------------------------------------------------------------
@pytest.mark.parametrize("rule", ["gausslegendre", "riemann_trapezoid", "riemann_left"])
def test_layer_conductance_matches_captum_on_a_cnn(rule):
    ex = xplain.Explainer(make_cnn(), modality="image")
    ours = layer_conductance(ex, image(), "1", target=2, n_steps=12, rule=rule, gradient_at="left")
    s = setup(ex, image(), 2, "1", "test")
    theirs = LayerConductance(s.view.forward, s.module).attribute(
        s.view.inputs, baselines=s.view.baseline, target=2, n_steps=12, method=rule
    )
    assert ours.unit_shape == (4, SIDE, SIDE) and ours.unit_axis == 0
    assert relative_error(ours.values, theirs[0].detach()) < 1e-5


def test_layer_conductance_matches_captum_on_tiny_bert(text):
    sentence = "a gripping, funny film"
    ours = layer_conductance(
        text, sentence, "bert.encoder.layer.0", target=0, n_steps=10, rule="gausslegendre",
        gradient_at="left",
    )
    s = setup(text, sentence, 0, "bert.encoder.layer.0", "test")
    theirs = LayerConductance(s.view.forward, s.module).attribute(
        s.view.inputs, baselines=s.view.baseline, target=0, n_steps=10
    )
    assert relative_error(ours.values, first(theirs)[0].detach()) < 1e-5


def test_internal_influence_matches_captum(text):
    ex = xplain.Explainer(make_cnn(), modality="image")
    ours = internal_influence(ex, image(1), "3", target=1, n_steps=9)
    s = setup(ex, image(1), 1, "3", "test")
    theirs = InternalInfluence(s.view.forward, s.module).attribute(
        s.view.inputs, baselines=s.view.baseline, target=1, n_steps=9
    )
    assert relative_error(ours.values, theirs[0].detach()) < 1e-5
    sentence = "not a good film"
    ours = internal_influence(text, sentence, "encoder.layer.1.output", target=1, n_steps=8)
    s = setup(text, sentence, 1, "encoder.layer.1.output", "test")
    theirs = InternalInfluence(s.view.forward, s.module).attribute(
        s.view.inputs, baselines=s.view.baseline, target=1, n_steps=8
    )
    assert relative_error(ours.values, first(theirs)[0].detach()) < 1e-5


def test_neuron_conductance_matches_captum_and_sums_to_the_unit_conductance(tabular, table):
    row = table.iloc[5]
    e = neuron_conductance(tabular, row, "1", 3, target=0, n_steps=16)
    s = setup(tabular, row, 0, "1", "test")
    theirs = NeuronConductance(s.view.forward, s.module).attribute(
        s.view.inputs, neuron_selector=3, baselines=s.view.baseline, target=0, n_steps=16,
        method="gausslegendre",
    )
    assert e.method == "neuron_conductance" and e.features == ["a", "b", "c", "d"]
    assert relative_error(e.values, theirs[0].detach()) < 1e-5
    # summed over the inputs: the unit's conductance, which layer_conductance approximates
    # with its Stieltjes sum (the two discretisations agree as n_steps grows)
    fine = neuron_conductance(tabular, row, "1", 3, target=0, n_steps=128)
    layer = layer_conductance(tabular, row, "1", target=0, n_steps=128)
    assert fine.values.sum() == pytest.approx(fine.diagnostics["unit_conductance"], rel=1e-12)
    assert fine.values.sum() == pytest.approx(layer.values[3], rel=2e-3, abs=1e-6)


def test_neuron_conductance_on_a_cnn_unit_as_a_tuple():
    ex = xplain.Explainer(make_cnn(), modality="image")
    unit = (2, 3, 4)
    e = neuron_conductance(ex, image(), "1", unit, target=0, n_steps=256)
    layer = layer_conductance(ex, image(), "1", target=0, n_steps=256)
    assert e.diagnostics["neuron"] == list(unit)
    # ReLU kinks after the layer slow both quadratures down: agreement to 0.5%
    assert e.diagnostics["unit_conductance"] == pytest.approx(layer.values[unit], rel=5e-3)
    flat = np.ravel_multi_index(unit, layer.unit_shape)
    same = neuron_conductance(ex, image(), "1", int(flat), target=0, n_steps=256)
    np.testing.assert_allclose(same.values, e.values)


# -- the result object -----------------------------------------------------------------------
def test_layer_attribution_round_trips_and_renders_escaped(text):
    a = layer_conductance(text, "a fine film", "encoder.layer.0", n_steps=4)
    back = LayerAttribution.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a and back.unit_shape == a.unit_shape
    frame = a.to_frame()
    assert list(frame.columns) == ["unit", "index", "position", "value"]
    assert len(frame) == a.values.size and frame["value"].sum() == pytest.approx(a.total)
    assert a.top(3)["value"].abs().tolist() == sorted(np.abs(a.values).ravel())[::-1][:3]
    evil = LayerAttribution(
        method="layer_conductance", layer="<b>x</b>", values=np.array([[1.0, -2.0]]),
        target=0, target_label="<script>", prediction=np.array([1.0]),
        unit_axis=1, positions=["<img src=x>"],
    )
    html = evil._repr_html_()
    assert "<script>" not in html and "<img src=x>" not in html and "&lt;img src=x&gt;" in html
    assert "<b>x</b>" not in html and html.count('class="bar-row') == 2
    with pytest.raises(InvalidParameterError, match="positions"):
        LayerAttribution("x", "l", np.ones(3), 0, "a", np.ones(1)).per_position  # noqa: B018


@settings(max_examples=30, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)),
              elements=st.floats(-1e3, 1e3)), st.integers(0, 1))
def test_per_unit_and_per_position_partition_the_total(values, axis):
    a = LayerAttribution("layer_conductance", "l", values, 0, "a", np.ones(1), unit_axis=axis)
    assert a.per_unit.shape == (values.shape[axis],)
    assert a.per_unit.sum() == pytest.approx(values.sum(), abs=1e-6)
    assert a.per_position.sum() == pytest.approx(values.sum(), abs=1e-6)
    assert LayerAttribution.from_dict(a.to_dict()) == a


# -- errors ----------------------------------------------------------------------------------
def test_bad_layers_targets_and_parameters_are_explained(tabular, table, text):
    row = table.iloc[0]
    with pytest.raises(InvalidParameterError, match=r"'layer'.*'encoder.layr.1'.*Close names"):
        layer_conductance(text, "fine", "encoder.layr.1")
    with pytest.raises(InvalidParameterError, match=r"ambiguous.*'dense'"):
        layer_conductance(text, "fine", "dense")
    with pytest.raises(InvalidParameterError, match="'layer' parameter.*Got 3"):
        internal_influence(tabular, row, 3)
    with pytest.raises(InvalidTargetError, match="out of range"):
        layer_conductance(tabular, row, "1", target=7)
    with pytest.raises(InvalidParameterError, match="'n_steps' parameter of layer_conductance"):
        layer_conductance(tabular, row, "1", n_steps=0)
    with pytest.raises(InvalidParameterError, match="'distribution'.*'path'"):
        internal_influence(tabular, row, "1", distribution="pat")
    with pytest.raises(InvalidParameterError, match=r"'neuron'.*0\.\.7.*\(8,\)"):
        neuron_conductance(tabular, row, "1", 8)
    spare = xplain.Explainer(Spare(), data=table)
    with pytest.raises(InvalidParameterError, match="never called it.*'spare'"):
        layer_conductance(spare, row, "spare")
    with pytest.raises(InvalidParameterError, match="called it 2 times.*'twice'"):
        internal_influence(spare, row, "twice")
    with pytest.raises(InvalidInputError, match="non-empty list"):
        internal_influence(tabular, [], "1", distribution="instances")
    with pytest.raises(InvalidInputError, match="shape"):
        internal_influence(text, ["good", "a very good film"], "encoder.layer.0",
                           distribution="instances")


def test_models_without_gradients_are_refused(table):
    from sklearn.linear_model import LogisticRegression

    y = (table["a"] > 0).astype(int)
    ex = xplain.Explainer(LogisticRegression().fit(table, y), data=table)
    with pytest.raises(MethodNotApplicableError, match="gradients of a torch model"):
        layer_conductance(ex, table.iloc[0], "0")
    with pytest.raises(InvalidParameterError, match="xplain.Explainer"):
        layer_conductance(make_mlp(), table.iloc[0], "0")


def test_the_public_names_are_exported_lazily():
    assert xplain.layer_conductance is layer_conductance
    assert xplain.internal_influence is internal_influence
    assert xplain.neuron_conductance is neuron_conductance
    assert xplain.LayerAttribution is LayerAttribution
