"""A tabular torch network is called on what the user gives it.

Without ``encoder=`` the network gets the raw columns (no standardisation fitted on the
data behind its back), so ``e.prediction`` is the network's own output on the row and
every gradient method explains that function, with its baseline and noise in the data's
units. Non-numeric columns are refused; an explicit ``TabularEncoder`` is used as given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients

import xplain
from xplain.adapters import TabularEncoder
from xplain.errors import InvalidParameterError


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Columns of very different scales, as a Captum user's raw table has them."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "income": rng.normal(3e4, 1e4, 150),
        "age": rng.normal(40.0, 12.0, 150),
        "ratio": rng.random(150),
    })


def raw_net(dtype: torch.dtype = torch.float64) -> torch.nn.Sequential:
    """An MLP whose first layer is sized for raw columns (income ~ 1e4, age ~ 40)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    with torch.no_grad():
        net[0].weight.mul_(torch.tensor([[1e-4, 3e-2, 2.0]]))
    return net.to(dtype)


def own_softmax(net: torch.nn.Module, row: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(net(torch.tensor(row[None], dtype=dtype)), -1)[0].numpy()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_prediction_is_the_networks_own_softmax_on_the_raw_row(table, dtype) -> None:
    net = raw_net(dtype)
    explainer = xplain.Explainer(net, data=table)
    for i in (0, 7, 42):
        row = table.iloc[i]
        e = explainer.explain(row, "saliency")
        np.testing.assert_allclose(e.prediction, own_softmax(net, row.to_numpy(), dtype),
                                   rtol=0, atol=1e-6)
    # the standardised encoding formerly fitted on the data scores the row far from it
    z = TabularEncoder().fit(table).transform(table.iloc[[42]])[0]
    assert np.abs(own_softmax(net, z, dtype) - e.prediction).max() > 1e-2


def test_integrated_gradients_equal_captums_on_the_raw_row(table) -> None:
    net = raw_net()
    explainer = xplain.Explainer(net, data=table, background_size=20)
    adapter = explainer.adapter
    row = table.iloc[3]
    e = explainer.explain(row, "integrated_gradients", n_steps=24, target=1)
    # xplain's reference: the weighted mean background row, in the data's own units
    baseline = adapter.background.weights @ adapter.background.rows  # [d]
    view = adapter.differentiable_view(adapter.encode(row), "logits")
    np.testing.assert_allclose(view.baseline[0].numpy(), baseline, rtol=1e-12)
    np.testing.assert_allclose(view.inputs[0].numpy(), row.to_numpy(), rtol=0, atol=0)
    x = torch.as_tensor(row.to_numpy()[None])
    theirs = IntegratedGradients(net).attribute(
        x, torch.as_tensor(baseline[None]), target=1, n_steps=24, method="gausslegendre"
    )[0].numpy()
    np.testing.assert_allclose(e.values, theirs, rtol=0, atol=1e-6)
    # completeness in raw units: the values add up to f(x) - f(baseline)
    with torch.no_grad():
        gap = (net(x)[0, 1] - net(torch.as_tensor(baseline[None]))[0, 1]).item()
    assert e.values.sum() == pytest.approx(gap, abs=1e-6)


def test_smoothgrad_noise_is_a_fraction_of_each_raw_columns_std(table) -> None:
    net = raw_net()
    explainer = xplain.Explainer(net, data=table, background_size=20)
    background = explainer.adapter.background
    mean = background.weights @ background.rows
    std = np.sqrt(background.weights @ (background.rows - mean) ** 2)  # [d] raw units
    assert std[0] > 1e3  # income's spread, not a z-score's 1
    row = table.iloc[5]
    e = explainer.explain(row, "smoothgrad", noise_samples=6, noise_std=0.2, seed=3,
                          absolute=False, target=0)
    np.testing.assert_allclose(e.diagnostics["noise_std_abs"], 0.2 * std, rtol=1e-12)
    # by hand: the mean gradient over the same normal draws, scaled per raw column
    noise = np.random.default_rng(3).standard_normal((6, 1, 3))[:, 0]  # [6, d]
    points = torch.as_tensor(row.to_numpy()[None] + noise * 0.2 * std).requires_grad_(True)
    (grad,) = torch.autograd.grad(net(points)[:, 0].sum(), points)
    np.testing.assert_allclose(e.values, grad.mean(0).numpy(), rtol=1e-9, atol=1e-15)


def test_bool_columns_are_passed_as_zero_and_one() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(5.0, 2.0, 60), "member": rng.random(60) < 0.4})
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(2, 2)).double()
    explainer = xplain.Explainer(net, data=frame)
    for i in range(6):
        row = frame.iloc[i]
        e = explainer.explain(row, "input_x_gradient", target=1)
        numbers = np.array([row["x"], float(row["member"])])
        np.testing.assert_allclose(e.prediction, own_softmax(net, numbers, torch.float64),
                                   rtol=0, atol=1e-12)
        # a linear logit: input x gradient is weight * value, False giving exactly 0
        weight = net[0].weight[1].detach().numpy()
        np.testing.assert_allclose(e.values, weight * numbers, rtol=1e-12)


@pytest.mark.parametrize("kind", ["object", "category"])
def test_non_numeric_columns_without_an_encoder_are_refused(table, kind) -> None:
    frame = table.assign(job=pd.Series(["a", "b", "c"] * 50, dtype=kind))
    net = torch.nn.Sequential(torch.nn.Linear(4, 2))
    with pytest.raises(InvalidParameterError) as info:
        xplain.Explainer(net, data=frame)
    message = str(info.value)
    assert "needs numbers" in message and "'job'" in message
    assert "encoder=xplain.adapters.TabularEncoder().fit(X_train)" in message
    assert "scaler" in message


def test_a_network_sized_for_an_encoding_gets_a_message_naming_encoder(table) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(7, 2))  # e.g. trained on one-hot columns
    with pytest.raises(InvalidParameterError, match=r"raw columns \(3 columns: income, age"
                       r", ratio\).*encoder=xplain\.adapters\.TabularEncoder\(\)"):
        xplain.Explainer(net, data=table)


def test_an_explicit_tabular_encoder_is_used_as_given() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "income": rng.normal(3e4, 1e4, 90),
        "job": rng.choice(["clerk", "nurse", "pilot"], 90),
    })
    encoder = TabularEncoder().fit(frame)
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(encoder.n_outputs, 6), torch.nn.Tanh(),
                              torch.nn.Linear(6, 2)).double()
    explainer = xplain.Explainer(net, data=frame, encoder=encoder, background_size=12)
    adapter = explainer.adapter
    row = frame.iloc[[4]]
    x = torch.as_tensor(encoder.encode(adapter.schema.to_matrix(row, "row")))  # [1, 4]
    e = explainer.explain(row.iloc[0], "integrated_gradients", n_steps=16, target=0)
    np.testing.assert_allclose(e.prediction, own_softmax(net, x[0].numpy(), torch.float64),
                               rtol=0, atol=1e-12)
    # baseline: the weighted mean of the encoded background; one-hot groups summed
    encoded = encoder.encode(adapter.background.rows)
    baseline = torch.as_tensor(adapter.background.weights @ encoded)[None]
    theirs = IntegratedGradients(net).attribute(x, baseline, target=0, n_steps=16)[0]
    np.testing.assert_allclose(e.values, encoder.to_columns(theirs.numpy()), atol=1e-10)
