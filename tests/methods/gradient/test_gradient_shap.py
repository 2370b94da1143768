"""GradientSHAP (expected gradients): parity with Captum, expectation, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import GradientShap as CaptumGradientShap
from conftest_deep import captum, make_cnn, make_mlp, make_view, relative_error
from torch import nn

from xplain.errors import InvalidParameterError
from xplain.methods.gradient.gradient_shap import GradientShap
from xplain.methods.gradient.integrated_gradients import IntegratedGradients


def _data(shape: tuple[int, ...], n: int = 1, k: int = 5, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=gen, dtype=torch.float64)
    background = 0.5 * torch.randn((k, *shape), generator=gen, dtype=torch.float64)
    return x, background


def _captum_with_our_draws(monkeypatch, method, model, x, background, target):
    """Captum's GradientShap fed the same baselines, noise and alphas as ``method``.

    Captum draws from the global RNGs (np.random.choice for the baseline rows,
    torch.normal for the noise, np.random.uniform for the alphas); they are replaced by
    xplain's draws, laid out as Captum lays its samples out (point-major).
    """
    rows, noise, alphas = method.draw(x.shape[0], background.shape[0], tuple(x.shape[1:]))
    shape = (-1, *x.shape[1:])
    monkeypatch.setattr(np.random, "choice", lambda k, size: rows.reshape(-1))
    monkeypatch.setattr(np.random, "uniform", lambda low, high, size: alphas.reshape(-1))
    noise_t = torch.zeros(x.shape[0] * alphas.shape[1], *x.shape[1:], dtype=x.dtype)
    if noise is not None:
        noise_t = torch.as_tensor(noise).reshape(shape)
    monkeypatch.setattr(torch, "normal", lambda mean, std: noise_t.to(std.dtype))
    return captum(
        CaptumGradientShap,
        model,
        x,
        baselines=background,
        target=target,
        n_samples=method.params["n_samples"],
        stdevs=float(method.params["stdevs"]),
    )


@pytest.mark.parametrize("stdevs", [0.0, 0.2])
def test_matches_captum_with_the_same_draws_on_an_mlp(monkeypatch, stdevs):
    model = make_mlp(softmax=True)
    x, background = _data((6,), n=2)
    method = GradientShap(n_samples=20, stdevs=stdevs, seed=3)
    ours, _ = method.attribute_points(make_view(model, x[:1], background[:1], background), x, 1)
    theirs = _captum_with_our_draws(monkeypatch, method, model, x, background, 1)
    assert relative_error(ours, theirs) < 1e-5


def test_matches_captum_with_the_same_draws_on_a_cnn(monkeypatch):
    model = make_cnn()
    x, background = _data((1, 8, 8), k=4)
    method = GradientShap(n_samples=12, stdevs=0.1)
    ours = method.attribute(make_view(model, x, background[:1], background), 2).values
    theirs = _captum_with_our_draws(monkeypatch, method, model, x, background, 2)[0]
    assert relative_error(ours, theirs) < 1e-5


def _mean_ig(model, x, background, target):
    return torch.stack(
        [
            IntegratedGradients(n_steps=64).attribute(make_view(model, x, b[None]), target).values
            for b in background
        ]
    ).mean(0)


def test_expectation_is_integrated_gradients_averaged_over_the_background():
    model = make_mlp()
    x, background = _data((6,), k=3)
    view = make_view(model, x, background[:1], background)
    expected = _mean_ig(model, x, background, 0)
    scale = expected.abs().max()
    errors = []
    for n in (10, 300, 10000):
        values = GradientShap(n_samples=n).attribute(view, 0).values
        errors.append(((values - expected).abs().max() / scale).item())
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 0.03


def test_linear_model_with_one_reference_is_exact():
    torch.manual_seed(0)
    model = nn.Linear(6, 3).double().eval()
    x, background = _data((6,), k=1)
    result = GradientShap(n_samples=7).attribute(make_view(model, x, background), 2)
    torch.testing.assert_close(result.values, (x[0] - background[0]) * model.weight[2])
    assert result.diagnostics["completeness_gap"] < 1e-12
    assert result.diagnostics["std_err"] < 1e-12


def test_without_background_samples_the_path_from_the_baseline():
    model = make_mlp()
    x, background = _data((6,), k=1)
    view = make_view(model, x, background)  # view.background is None
    values = GradientShap(n_samples=5000).attribute(view, 1).values
    ig = IntegratedGradients(n_steps=64).attribute(view, 1).values
    assert relative_error(values, ig) < 0.03


def test_seeded_draws_are_reproducible():
    model = make_cnn()
    x, background = _data((1, 8, 8))
    view = make_view(model, x, background[:1], background)
    first = GradientShap(seed=4, stdevs=0.1).attribute(view, 0)
    again = GradientShap(seed=4, stdevs=0.1).attribute(view, 0)
    other = GradientShap(seed=5, stdevs=0.1).attribute(view, 0)
    assert torch.equal(first.values, again.values)
    assert first.diagnostics == again.diagnostics
    assert not torch.allclose(first.values, other.values)
    assert GradientShap(seed=None).attribute(view, 0).values.shape == x.shape[1:]
    batched = GradientShap(internal_batch_size=7, seed=4, stdevs=0.1).attribute(view, 0)
    torch.testing.assert_close(batched.values, first.values, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_samples": 0}, "'n_samples' parameter of gradient_shap must be an int >= 1. Got 0"),
        ({"stdevs": -0.1}, "'stdevs'"),
        ({"seed": 1.5}, "'seed'"),
        ({"internal_batch_size": 0}, "'internal_batch_size'"),
        ({"n_step": 3}, "unexpected parameter 'n_step'"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        GradientShap(**params)
