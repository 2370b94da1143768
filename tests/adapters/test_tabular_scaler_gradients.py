"""Gradient methods on a tabular torch network trained behind a scikit-learn scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import IntegratedGradients
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

import xplain
from xplain.errors import InvalidParameterError

COLUMNS = ["age", "income", "hours"]
N_STEPS = 32


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(300, 3)) * [12.0, 20000.0, 8.0] + [40.0, 50000.0, 38.0]
    return pd.DataFrame(raw, columns=COLUMNS)


def network() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    ).double()


def folded(net: torch.nn.Sequential, slope: np.ndarray, offset: np.ndarray) -> torch.nn.Module:
    """The network with ``z = slope * x + offset`` folded into its first layer: a network
    of the raw columns ``x``."""
    first = net[0]
    out = torch.nn.Linear(first.in_features, first.out_features).double()
    with torch.no_grad():
        a, b = torch.as_tensor(slope), torch.as_tensor(offset)
        out.weight.copy_(first.weight * a[None, :])
        out.bias.copy_(first.bias + first.weight @ b)
    return torch.nn.Sequential(out, *net[1:])


def affine(scaler, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The scaler's slope and offset per column, read off at x = 0 and x = 1."""
    zero = scaler.transform(pd.DataFrame(np.zeros((1, 3)), columns=COLUMNS))[0]
    one = scaler.transform(pd.DataFrame(np.ones((1, 3)), columns=COLUMNS))[0]
    return one - zero, zero


SCALERS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "maxabs": MaxAbsScaler,
    "robust": RobustScaler,
    "column_transformer": lambda: ColumnTransformer(
        [("z", StandardScaler(), ["age", "hours"]), ("m", MinMaxScaler(), ["income"])]
    ),
}


@pytest.mark.parametrize("name", list(SCALERS))
def test_ig_equals_ig_of_the_network_with_the_scaler_folded_in(name, data) -> None:
    scaler = SCALERS[name]().fit(data)
    net = network()
    slope, offset = affine(scaler, data)
    if name == "column_transformer":  # its output order: age, hours, income
        order = [0, 2, 1]
        slope, offset = slope[np.argsort(order)], offset[np.argsort(order)]
        net_in = network()  # the net reads [age, hours, income]: permute its first layer
        with torch.no_grad():
            net_in[0].weight.copy_(net[0].weight[:, np.argsort(order)])
            net_in[0].bias.copy_(net[0].bias)
        model = Pipeline([("scale", scaler), ("net", net_in)])
    else:
        model = Pipeline([("scale", scaler), ("net", net)])
    explainer = xplain.Explainer(model, data=data, output="logits")
    row = data.iloc[4]
    e = explainer.explain(row, "integrated_gradients", target=1, n_steps=N_STEPS)

    # IG of the folded network in raw units, from the same baseline (the background's mean)
    background = explainer.adapter.background
    baseline = background.weights @ background.rows  # [3] raw units
    raw = folded(net, slope, offset)
    x = torch.tensor(row.to_numpy(dtype=np.float64))[None]
    theirs = IntegratedGradients(raw).attribute(
        x, baselines=torch.as_tensor(baseline)[None], target=1, n_steps=N_STEPS,
        method="gausslegendre",
    )[0].numpy()
    np.testing.assert_allclose(e.values, theirs, rtol=1e-7, atol=1e-9)
    # completeness in raw units: the values add up to f(x) - f(baseline) of the folded net
    with torch.no_grad():
        delta = float(raw(x)[0, 1] - raw(torch.as_tensor(baseline)[None])[0, 1])
    assert abs(e.values.sum() - delta) < 1e-6 * max(1.0, abs(delta))
    assert e.diagnostics["completeness_gap"] < 1e-6 * max(1.0, abs(delta))
    # the prediction is the network's on the scaled row
    scaled = torch.as_tensor(scaler.transform(data.iloc[[4]]))
    with torch.no_grad():
        logits = model[-1](scaled)[0]
    np.testing.assert_allclose(e.prediction, torch.softmax(logits, 0).numpy(), rtol=1e-10)


def test_encoder_scaler_equals_the_pipeline_and_every_gradient_method_runs(data) -> None:
    scaler = StandardScaler().fit(data)
    net = network()
    by_encoder = xplain.Explainer(net, data=data, encoder=scaler)
    by_pipeline = xplain.Explainer(Pipeline([("scale", scaler), ("net", net)]), data=data)
    row = data.iloc[9]
    for method in ("integrated_gradients", "gradient_shap", "input_x_gradient", "saliency"):
        assert method in by_pipeline.applicable_methods()
        a = by_encoder.explain(row, method, target=0)
        b = by_pipeline.explain(row, method, target=0)
        np.testing.assert_array_equal(a.values, b.values)
        assert np.abs(a.values).sum() > 0


def test_saliency_is_the_gradient_per_scaled_unit(data) -> None:
    scaler = StandardScaler().fit(data)
    net = network()
    explainer = xplain.Explainer(net, data=data, encoder=scaler, output="logits")
    row = data.iloc[2]
    e = explainer.explain(row, "saliency", target=1, absolute=False)
    slope, offset = affine(scaler, data)
    x = torch.tensor(row.to_numpy(dtype=np.float64))[None].requires_grad_(True)
    folded(net, slope, offset)(x)[0, 1].backward()
    # d f / d z = (d f / d x) / slope: per standard deviation, as with a TabularEncoder
    np.testing.assert_allclose(e.values, x.grad[0].numpy() / slope, rtol=1e-9)


def test_refusals_say_what_to_do(data) -> None:
    net = network()
    with pytest.raises(InvalidParameterError, match="affine map of each column"):
        xplain.Explainer(net, data=data, encoder=PCA(n_components=3).fit(data))
    with pytest.raises(InvalidParameterError, match="clip"):
        xplain.Explainer(net, data=data, encoder=MinMaxScaler(clip=True).fit(data))
    with pytest.raises(InvalidParameterError, match="failed on the data's rows"):
        xplain.Explainer(net, data=data, encoder=StandardScaler())  # not fitted
    scaler = StandardScaler().fit(data)
    with pytest.raises(InvalidParameterError, match="one of them"):
        xplain.Explainer(Pipeline([("scale", scaler), ("net", net)]), data=data, encoder=scaler)
    with pytest.raises(InvalidParameterError, match="TabularEncoder or a fitted"):
        xplain.Explainer(net, data=data, encoder="standard")
    labelled = data.assign(city=np.where(data.age > 40, "Oslo", "Rome"))
    with pytest.raises(InvalidParameterError, match="categorical column.*'city'"):
        xplain.Explainer(net, data=labelled, encoder=scaler)


# -- the units of the methods that are not invariant under the scaler --------------------
def _explainers(data: pd.DataFrame, net: torch.nn.Sequential):
    """(explainer of ``net`` behind a StandardScaler, explainer of the network with the
    scaler folded in, called on the raw columns), and the scaler's slope and offset."""
    scaler = StandardScaler().fit(data)
    slope, offset = affine(scaler, data)
    scaled = xplain.Explainer(net, data=data, encoder=scaler, output="logits")
    raw = xplain.Explainer(folded(net, slope, offset), data=data, output="logits")
    return scaled, raw, slope, offset


def test_input_x_gradient_is_the_scaled_input_times_the_gradient_per_scaled_unit(data) -> None:
    torch.manual_seed(1)
    linear = torch.nn.Sequential(torch.nn.Linear(3, 2)).double()
    scaled, raw, slope, offset = _explainers(data, linear)
    row = data.iloc[7]
    x = row.to_numpy(dtype=np.float64)
    z = slope * x + offset  # the network's input
    e = scaled.explain(row, "input_x_gradient", target=1)
    w = linear[0].weight[1].detach().numpy()
    np.testing.assert_allclose(e.values, z * w, rtol=1e-9)  # z_j * d f / d z_j

    def f(v: np.ndarray) -> float:  # the target logit of a raw row
        with torch.no_grad():
            return float(linear(torch.as_tensor(slope * v + offset)[None])[0, 1])

    # so a linear network's values add up to f(x) - f(the row the scaler maps to 0): the
    # training mean for a StandardScaler (a first-order f(x) - f(mean) for any network) ...
    mean = data.to_numpy().mean(0)
    assert e.values.sum() == pytest.approx(f(x) - f(mean), rel=1e-9)
    # ... not x_j * d f / d x_j of the folded network, which adds up from the row of zeros
    folded_values = raw.explain(row, "input_x_gradient", target=1).values
    np.testing.assert_allclose(folded_values, x * w * slope, rtol=1e-9)
    assert folded_values.sum() == pytest.approx(f(x) - f(np.zeros(3)), rel=1e-9)
    assert not np.allclose(e.values, folded_values, rtol=1e-2)


def test_guided_backprop_and_smoothgrad_are_per_scaled_unit(data) -> None:
    torch.manual_seed(2)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    ).double()
    scaled, raw, slope, _ = _explainers(data, net)
    row = data.iloc[5]
    for method, options in [("guided_backprop", {}), ("smoothgrad", {"noise_samples": 4})]:
        ours = scaled.explain(row, method, target=1, **options).values
        theirs = raw.explain(row, method, target=1, **options).values
        # d f / d z = (d f / d x) / slope: the folded network's values per standard deviation
        np.testing.assert_allclose(ours, theirs / slope, rtol=1e-7, atol=1e-12)
        assert np.abs(ours).sum() > 0


def test_smoothgrad_noise_is_the_same_in_the_original_units(data) -> None:
    # the noise is a fraction of each input column's spread over the background, which the
    # scaler multiplies by its slope: the noisy rows are the same in the original units, so
    # a method that adds up (IG) gives the folded network's values under noise too
    scaled, raw, _, _ = _explainers(data, network())
    row = data.iloc[11]
    options = {"noise_samples": 3, "noise_std": 0.3, "n_steps": 16, "seed": 4}
    ours = scaled.explain(row, "integrated_gradients", target=1, **options)
    theirs = raw.explain(row, "integrated_gradients", target=1, **options)
    np.testing.assert_allclose(ours.values, theirs.values, rtol=1e-7, atol=1e-10)
    plain = raw.explain(row, "integrated_gradients", target=1, n_steps=16).values
    assert not np.allclose(theirs.values, plain, rtol=1e-3)  # the noise did change them


def test_encoder_is_refused_for_models_it_would_not_reach(data) -> None:
    from sklearn.linear_model import LogisticRegression

    from xplain.adapters import TabularEncoder

    y = (data.age > 40).astype(int)
    scaler = StandardScaler().fit(data)
    model = LogisticRegression().fit(scaler.transform(data), y)
    with pytest.raises(InvalidParameterError, match=r"LogisticRegression.*Pipeline\(\[\("):
        xplain.Explainer(model, data=data, encoder=scaler)
    with pytest.raises(InvalidParameterError, match="encoder=TabularEncoder"):
        xplain.Explainer(model, data=data, encoder=TabularEncoder().fit(data))
    with pytest.raises(InvalidParameterError, match="apply the encoding inside it"):
        xplain.Explainer(lambda frame: model.predict_proba(frame), data=data, encoder=scaler)
    # the fix the message names explains the model on the original columns
    fixed = xplain.Explainer(Pipeline([("scale", scaler), ("model", model)]), data=data)
    e = fixed.explain(data.iloc[0], "exact_shapley", target=1)
    assert e.features == COLUMNS
    assert e.base_value + e.values.sum() == pytest.approx(e.prediction[1], abs=1e-9)


@pytest.mark.parametrize("method", ["deeplift", "deepshap", "gradient_shap"])
def test_methods_that_add_up_equal_those_of_the_folded_network(method, data) -> None:
    torch.manual_seed(2)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)
    ).double()
    scaled, raw, _, _ = _explainers(data, net)
    ours = scaled.explain(data.iloc[5], method, target=1).values
    theirs = raw.explain(data.iloc[5], method, target=1).values
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    assert np.abs(ours).sum() > 0
