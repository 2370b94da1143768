"""SmoothGrad: the noise wrapper over any gradient method (parity with Captum elsewhere)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xplain
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError, UnknownMethodError
from xplain.methods.gradient.input_x_gradient import InputXGradient
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.methods.gradient.saliency import Saliency
from xplain.methods.gradient.smoothgrad import SmoothGrad

TEXT = "not good, not terrible"


def linear_view(w: np.ndarray, x: np.ndarray) -> DifferentiableView:
    """f(z) = [-w.z, w.z] on a flat input, zero baseline."""
    weight = torch.as_tensor(w)

    def forward(z: torch.Tensor) -> torch.Tensor:
        score = z @ weight
        return torch.stack([-score, score], dim=1)

    inputs = torch.as_tensor(x)[None]
    return DifferentiableView(inputs, torch.zeros_like(inputs), forward, lambda a: a.numpy())


def test_noise_is_gaussian_with_std_noise_std_times_the_input_range():
    """Input x gradient on a linear model is (x + eps) * w: its mean is x * w + mean(eps) * w
    and its variance (VarGrad) is w^2 * var(eps) = w^2 * sigma^2."""
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=4), rng.normal(size=4)
    view = linear_view(w, x)
    sigma = 0.3 * (x.max() - x.min())
    n = 20_000
    common = dict(base="input_x_gradient", noise_samples=n, noise_std=0.3, seed=1)
    var = SmoothGrad(variant="vargrad", **common).attribute(view, 1).values.numpy()
    np.testing.assert_allclose(var / w**2, sigma**2, rtol=0.05)  # 4 sigma for n = 20,000
    mean = SmoothGrad(**common).attribute(view, 1).values.numpy()
    np.testing.assert_allclose(mean / w, x, atol=5 * sigma / np.sqrt(n))
    square = SmoothGrad(variant="smoothgrad_sq", **common).attribute(view, 1).values.numpy()
    np.testing.assert_allclose(square, mean**2 + var, rtol=1e-9)  # E[a^2] = E[a]^2 + Var[a]


@pytest.fixture(scope="module")
def view(tiny_bert, minilm_tokenizer):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    encoded = explainer.adapter.encode(TEXT)
    explainer.adapter.predict(encoded)
    return explainer.adapter.differentiable_view(encoded, "logits")


@pytest.mark.parametrize("base, cls", [("saliency", Saliency),
                                       ("input_x_gradient", InputXGradient),
                                       ("integrated_gradients", IntegratedGradients)])
def test_zero_noise_gives_the_wrapped_method(view, base, cls):
    plain = cls().attribute(view, 1).values
    sg = SmoothGrad(base=base, noise_std=0.0, noise_samples=3)
    assert torch.allclose(sg.attribute(view, 1).values, plain, rtol=1e-12, atol=1e-15)
    sq = SmoothGrad(base=base, noise_std=0.0, noise_samples=3, variant="smoothgrad_sq")
    assert torch.allclose(sq.attribute(view, 1).values, plain**2, rtol=1e-12, atol=1e-15)
    var = SmoothGrad(base=base, noise_std=0.0, noise_samples=3, variant="vargrad")
    assert var.attribute(view, 1).values.abs().max() < 1e-15


def test_the_wrapped_method_sees_its_own_parameters(view):
    sg = SmoothGrad(base="saliency", absolute=False, noise_samples=4)
    assert sg.params["absolute"] is False and sg.params["base"] == "saliency"
    assert (sg.attribute(view, 1).values < 0).any()  # signed gradients averaged
    ig = SmoothGrad(base="integrated_gradients", n_steps=3, noise_samples=2, noise_std=0.0)
    result = ig.attribute(view, 1)
    plain = IntegratedGradients(n_steps=3).attribute(view, 1)
    assert result.diagnostics["n_steps"] == 3
    assert result.diagnostics["completeness_gap"] == pytest.approx(
        plain.diagnostics["completeness_gap"], rel=1e-9)


def test_seeded_noise_is_reproducible_and_independent_of_global_rng(view):
    first = SmoothGrad(noise_samples=4, seed=7).attribute(view, 0).values
    torch.manual_seed(12345)
    again = SmoothGrad(noise_samples=4, seed=7).attribute(view, 0).values
    other = SmoothGrad(noise_samples=4, seed=8).attribute(view, 0).values
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    state = torch.get_rng_state()
    SmoothGrad(noise_samples=2, seed=1).attribute(view, 0)
    assert torch.equal(state, torch.get_rng_state())  # the global RNG is left alone


def test_seed_none_is_not_reproducible(view):
    one = SmoothGrad(noise_samples=2, seed=None).attribute(view, 0).values
    two = SmoothGrad(noise_samples=2, seed=None).attribute(view, 0).values
    assert not torch.equal(one, two)


@pytest.mark.parametrize("variant", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_batch_size_only_changes_the_batching(view, variant):
    whole = SmoothGrad(noise_samples=5, variant=variant).attribute(view, 1).values
    chunks = SmoothGrad(noise_samples=5, variant=variant, noise_batch_size=2)
    assert torch.allclose(chunks.attribute(view, 1).values, whole, rtol=1e-12, atol=1e-15)


def test_model_evaluations_are_counted(tiny_bert, minilm_tokenizer):
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    e = ex.explain(TEXT, "smoothgrad", noise_samples=6)
    assert e.n_model_evals == 1 + 6  # the prediction and one gradient per noisy copy
    ig = ex.explain(TEXT, "smoothgrad", base="integrated_gradients", n_steps=4, noise_samples=3)
    # batched: f at the 3 copies, f(baseline) once, 4 path points per copy
    assert ig.n_model_evals == 1 + 3 + 1 + 3 * 4


def test_bad_bases_are_rejected():
    with pytest.raises(InvalidParameterError, match="'base' parameter of smoothgrad"):
        SmoothGrad(base="smoothgrad")
    with pytest.raises(InvalidParameterError, match="gradient method"):
        SmoothGrad(base="lime")
    with pytest.raises(UnknownMethodError, match="Did you mean 'saliency'"):
        SmoothGrad(base="salency")
