"""The explicit noise wrapper ``Smooth`` and the noise scale each view sets (issue 11, part 5).

``Smooth(method, ...)`` wraps any gradient method object, as Captum's NoiseTunnel does; the
keyword sugar (``method="integrated_gradients", noise_samples=...``) builds the same
wrapper. ``noise_std`` is a fraction of the view's ``noise_scale``: the input range for
images, the spread of the token embeddings for text, each encoded column's standard
deviation over the background for tabular torch models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import xplain
from xplain.adapters import TabularEncoder
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods import Smooth
from xplain.methods.build import build_method
from xplain.methods.gradient.grad_cam import GradCam
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.methods.gradient.saliency import Saliency
from xplain.methods.gradient.smoothgrad import SmoothGrad
from xplain.methods.perturbation.lime import Lime
from xplain.metrics._common import rebuild_method

TEXT = "not good, not terrible"
SENTENCES = [
    "a gripping, funny film about nothing",
    "not good, not terrible",
    "the plot is thin but the acting is superb",
    "I would not watch it again",
]


@pytest.fixture(scope="module")
def explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@pytest.fixture(scope="module")
def minilm_explainer(minilm_random_head):
    model, tokenizer = minilm_random_head
    return xplain.Explainer(model, tokenizer=tokenizer)


def linear_view(w: np.ndarray, x: np.ndarray, noise_scale=None) -> DifferentiableView:
    """f(z) = [-w.z, w.z] on a flat input, zero baseline."""
    weight = torch.as_tensor(w)

    def forward(z: torch.Tensor) -> torch.Tensor:
        score = z @ weight
        return torch.stack([-score, score], dim=1)

    inputs = torch.as_tensor(x)[None]
    return DifferentiableView(
        inputs, torch.zeros_like(inputs), forward, lambda a: a.numpy(), noise_scale=noise_scale
    )


# -- the wrapper as an object ----------------------------------------------------------------
def test_smooth_wraps_a_method_object_exactly_as_the_keyword_sugar_does(explainer):
    method = Smooth(IntegratedGradients(n_steps=4), noise_samples=3, seed=2)
    explicit = explainer.explain(TEXT, method=method)
    sugar = explainer.explain(TEXT, "integrated_gradients", n_steps=4, noise_samples=3, seed=2)
    np.testing.assert_array_equal(explicit.values, sugar.values)
    assert explicit.params == sugar.params and explicit.params["base"] == "integrated_gradients"
    assert explicit.method == "smoothgrad"  # the wrapper's name; the sugar keeps the name given
    plain = explainer.explain(TEXT, "integrated_gradients", n_steps=4)
    assert not np.allclose(explicit.values, plain.values)
    # the registered smoothgrad is Smooth over saliency
    assert isinstance(build_method("smoothgrad", {}), Smooth)
    np.testing.assert_array_equal(
        explainer.explain(TEXT, Smooth(Saliency(), noise_samples=4)).values,
        explainer.explain(TEXT, "smoothgrad", noise_samples=4).values,
    )


def test_smooth_with_the_same_seed_is_reproducible(explainer):
    one = explainer.explain(TEXT, Smooth(Saliency(), noise_samples=3, seed=5)).values
    two = explainer.explain(TEXT, Smooth(Saliency(), noise_samples=3, seed=5)).values
    other = explainer.explain(TEXT, Smooth(Saliency(), noise_samples=3, seed=6)).values
    np.testing.assert_array_equal(one, two)
    assert not np.allclose(one, other)


def test_smooth_repr_shows_the_wrapped_method_and_what_was_set():
    method = Smooth(IntegratedGradients(n_steps=32), noise_samples=10)
    assert repr(method).startswith("Smooth(IntegratedGradients(n_steps=32")
    assert repr(method).endswith(", noise_samples=10)")
    assert repr(Smooth(Saliency())) == "Smooth(Saliency())"


def test_smooth_refuses_what_it_cannot_wrap():
    with pytest.raises(InvalidParameterError, match="gradient method object.*Lime"):
        Smooth(Lime())
    with pytest.raises(InvalidParameterError, match=r"IntegratedGradients\(\)"):
        Smooth(IntegratedGradients)  # the class, not an object
    with pytest.raises(InvalidParameterError, match="already"):
        Smooth(SmoothGrad())
    with pytest.raises(InvalidParameterError, match="'noise_samples' parameter of smoothgrad"):
        Smooth(Saliency(), noise_samples=0)
    with pytest.raises(InvalidParameterError, match="unexpected parameter 'n_steps'"):
        Smooth(Saliency(), n_steps=4)  # the wrapped method's parameters are set on it


def test_a_method_object_takes_no_keyword_parameters(explainer):
    before = explainer.adapter.n_model_evals
    with pytest.raises(InvalidParameterError, match=r"IntegratedGradients\(n_steps=8\)"):
        explainer.explain(TEXT, IntegratedGradients(), n_steps=8)
    assert explainer.adapter.n_model_evals == before


def test_smooth_of_a_method_that_does_not_apply_is_not_applicable(explainer):
    with pytest.raises(MethodNotApplicableError, match="grad_cam.*image"):
        explainer.explain(TEXT, Smooth(GradCam()))
    with pytest.raises(MethodNotApplicableError, match="grad_cam.*image"):
        explainer.explain(TEXT, "smoothgrad", base="grad_cam")


def test_compare_accepts_method_objects(explainer):
    smooth_ig = Smooth(IntegratedGradients(n_steps=4), noise_samples=2)
    c = explainer.compare(TEXT, methods=["saliency", smooth_ig, IntegratedGradients(n_steps=4)])
    assert c.methods == ["saliency", "smoothgrad", "integrated_gradients"]
    np.testing.assert_array_equal(
        c.explanations["smoothgrad"].values, explainer.explain(TEXT, smooth_ig).values
    )
    with pytest.raises(InvalidParameterError, match="each once"):
        explainer.compare(TEXT, methods=[Smooth(Saliency()), Smooth(IntegratedGradients())])


def test_the_keyword_sugar_names_its_base_or_none(explainer):
    """An Explanation records ``base``; giving it back to the method of that name rebuilds
    it, while a ``base`` naming another method is refused rather than ignored."""
    e = explainer.explain(TEXT, "input_x_gradient", noise_samples=2)
    again = explainer.explain(TEXT, e.method, **e.params)
    np.testing.assert_array_equal(again.values, e.values)
    with pytest.raises(InvalidParameterError, match="'base'.*smoothgrad"):
        explainer.explain(TEXT, "saliency", base="integrated_gradients", noise_samples=2)


def test_metrics_rebuild_the_explicit_wrapper(explainer):
    """No special case in the metrics: the method is rebuilt from the Explanation alone."""
    method = Smooth(IntegratedGradients(n_steps=4), noise_samples=2, noise_std=0.3, seed=4)
    for e in (
        explainer.explain(TEXT, method),
        explainer.explain(TEXT, "integrated_gradients", n_steps=4, noise_samples=2,
                          noise_std=0.3, seed=4),
    ):
        _, _, rebuilt = rebuild_method(e)
        assert isinstance(rebuilt, Smooth) and rebuilt.params == method.params
        assert isinstance(rebuilt.base, IntegratedGradients)
    sensitivity = xplain.metrics.max_sensitivity(explainer, explainer.explain(TEXT, method),
                                                 n_samples=2)
    assert np.isfinite(sensitivity) and sensitivity > 0


# -- the noise scale comes from the view -----------------------------------------------------
def test_noise_std_is_a_fraction_of_the_views_noise_scale():
    """Input x gradient on a linear model is (x + eps) * w, whose variance (VarGrad) is
    w^2 sigma^2 with sigma = noise_std * noise_scale, per dimension when the scale is."""
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=4), rng.normal(size=4)
    scale = np.array([0.5, 1.0, 2.0, 0.0])
    for noise_scale, sigma in ((3.0, 0.3 * 3.0), (torch.as_tensor(scale)[None], 0.3 * scale)):
        view = linear_view(w, x, noise_scale=noise_scale)
        method = Smooth(build_method("input_x_gradient", {}), noise_samples=20_000,
                        noise_std=0.3, variant="vargrad", seed=1)
        result = method.attribute(view, 1)
        np.testing.assert_allclose(result.values.numpy() / w**2, sigma**2, rtol=0.05, atol=1e-12)
        np.testing.assert_allclose(result.diagnostics["noise_std_abs"], sigma, rtol=1e-12)
    # no scale set: the input range, Smilkov et al.'s scale for images
    assert linear_view(w, x).noise_scale == pytest.approx(x.max() - x.min())


def test_text_noise_scale_is_the_spread_of_the_token_embeddings(explainer, tiny_bert):
    view = explainer.adapter.differentiable_view(explainer.adapter.encode(TEXT), "logits")
    spread = tiny_bert.get_input_embeddings().weight.detach().std(0).mean()
    assert view.noise_scale == pytest.approx(float(spread), rel=0.05)
    assert view.noise_scale < view.input_range / 3  # not the image default


@pytest.mark.parametrize(
    "which, sentences",
    [("tiny_bert", SENTENCES), ("minilm", [SENTENCES[1], SENTENCES[3]])],
)
def test_smoothgrad_on_text_has_the_magnitude_of_saliency(
    which, sentences, explainer, minilm_explainer
):
    """Per sentence, the median over tokens of |smoothgrad| / |saliency| is within a factor
    1.25 of 1 (with the input range as the scale: 1.27-1.95 on the tiny BERT, 1.44 and 1.72
    on MiniLM; on the zoo sentiment model 0.6-1.07)."""
    ex, n = (explainer, 10) if which == "tiny_bert" else (minilm_explainer, 4)
    ratios = []
    for sentence in sentences:
        saliency = ex.explain(sentence, "saliency", target=1).values
        smooth = ex.explain(sentence, "smoothgrad", target=1, noise_samples=n).values
        ratios.append(np.median(np.abs(smooth) / np.abs(saliency)))
    assert all(0.8 <= r <= 1.25 for r in ratios), ratios


def test_smooth_ig_on_text_converges_at_its_usual_steps(minilm_explainer):
    """Adaptive IG doubles its steps until the gap is 1%; with the input range as the noise
    scale, the noisy copies of this MiniLM sentence needed 512 steps (IG alone: 32)."""
    sentence = SENTENCES[3]
    plain = minilm_explainer.explain(sentence, "integrated_gradients", target=1)
    smooth = minilm_explainer.explain(
        sentence, Smooth(IntegratedGradients(), noise_samples=2), target=1
    )
    assert smooth.diagnostics["n_steps"] == plain.diagnostics["n_steps"]
    assert smooth.diagnostics["completeness_gap"] <= 0.01


def test_tabular_noise_scale_is_each_encoded_columns_spread_over_the_background():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, 200),
        "income": rng.lognormal(10, 1, 200),
        "colour": rng.choice(["red", "green", "blue"], 200),
    })
    encoder = TabularEncoder().fit(frame)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(encoder.n_outputs, 8), torch.nn.Tanh(),
                              torch.nn.Linear(8, 2)).double()
    ex = xplain.Explainer(mlp, data=frame, encoder=encoder, background_size=20)
    view = ex.adapter.differentiable_view(ex.adapter.encode(frame.iloc[0]), "logits")
    background, weights = view.background.numpy(), view.background_weights
    mean = weights @ background
    expected = np.sqrt(weights @ (background - mean) ** 2)  # [m] weighted std per column
    np.testing.assert_allclose(np.asarray(view.noise_scale).reshape(-1), expected, rtol=1e-9)
    e = ex.explain(frame.iloc[0], "smoothgrad", noise_samples=3, noise_std=0.2)
    np.testing.assert_allclose(e.diagnostics["noise_std_abs"], 0.2 * expected, rtol=1e-9)
