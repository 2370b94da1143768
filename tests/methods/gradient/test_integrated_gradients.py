"""Integrated Gradients: quadrature rules, completeness and its reported gap, adaptivity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xplain
from xplain.adapters.base import DifferentiableView
from xplain.methods.gradient._quadrature import RULES, quadrature
from xplain.methods.gradient.integrated_gradients import IntegratedGradients

TEXT = "the plot is dull, but the acting works"


# -- quadrature rules --------------------------------------------------------------------------
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_every_rule_has_n_nodes_in_the_unit_interval_and_weights_summing_to_one(rule, n):
    alphas, weights = quadrature(rule, n)
    assert alphas.shape == weights.shape == (n,)
    assert (alphas >= 0).all() and (alphas <= 1).all()
    assert (weights > 0).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("n", range(1, 9))
def test_gauss_legendre_is_exact_up_to_degree_2n_minus_1_and_not_beyond(n):
    alphas, weights = quadrature("gausslegendre", n)
    for degree in range(2 * n):
        assert weights @ alphas**degree == pytest.approx(1 / (degree + 1), rel=1e-12, abs=0)
    assert abs(weights @ alphas ** (2 * n) - 1 / (2 * n + 1)) > 1e-13  # rounding: ~1e-16


@pytest.mark.parametrize("n", range(1, 34))
def test_fejer_is_exact_up_to_its_degree_and_not_beyond(n):
    """Interpolatory on n nodes: degree n - 1, and n for odd n (symmetric rule)."""
    alphas, weights = quadrature("fejer", n)
    degree = n - 1 + n % 2
    for k in range(degree + 1):
        assert weights @ alphas**k == pytest.approx(1 / (k + 1), rel=1e-12, abs=0)
    if n < 12:  # beyond, the error at degree + 1 is itself near rounding
        assert abs(weights @ alphas ** (degree + 1) - 1 / (degree + 2)) > 1e-13
    assert (weights > 0).all() and weights.sum() == pytest.approx(1.0, abs=1e-14)
    assert (np.diff(alphas) > 0).all() and alphas[0] > 0 and alphas[-1] < 1


@pytest.mark.parametrize("n", [1, 3, 7, 15, 31, 63])
def test_fejer_nodes_nest_bitwise_from_n_to_2n_plus_1(n):
    coarse, _ = quadrature("fejer", n)
    fine, _ = quadrature("fejer", 2 * n + 1)
    np.testing.assert_array_equal(fine[1::2], coarse)  # shared, not merely close


def cubic_view(x: np.ndarray, b: np.ndarray, c: np.ndarray) -> DifferentiableView:
    """f_k(z) = sum_i c[k, i] z_i^3 on a flat input: IG has closed forms for every rule."""
    coef = torch.as_tensor(c)  # [2, D]

    def forward(z: torch.Tensor) -> torch.Tensor:  # [B, D] -> [B, 2]
        return (z[:, None, :] ** 3 * coef).sum(-1)

    return DifferentiableView(
        inputs=torch.as_tensor(x)[None],
        baseline=torch.as_tensor(b)[None],
        forward=forward,
        aggregate=lambda attr: attr.numpy(),
    )


def closed_form(rule: str, n: int, x: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """IG of c * z^3 under ``rule`` with ``n`` nodes, from Euler-Maclaurin (exact here).

    Along the path the integrand is g(a) = 3c (b + a d)^2, a quadratic, with exact integral
    I = c (x^3 - b^3) / d, g(1) - g(0) = 3c (x^2 - b^2) and g'(1) - g'(0) = 6 c d^2.
    Left/right sums: I -+ h/2 (g(1) - g(0)) + h^2/12 (g'(1) - g'(0)), h = 1/n; midpoint:
    I - h^2/24 (g'(1) - g'(0)); trapezoid on n nodes including both ends: h = 1/(n - 1),
    I + h^2/12 (g'(1) - g'(0)); Gauss-Legendre with n >= 2 nodes is exact; Fejer is
    exact on lines, so its error is 3 c d^2 (sum_k w_k a_k^2 - 1/3), 0 from n = 3 nodes.
    """
    alphas, weights = quadrature("fejer", n)
    d = x - b
    exact = c * (x**3 - b**3) / d
    jump, slope_jump = 3 * c * (x**2 - b**2), 6 * c * d**2
    h = 1 / n
    integral = {
        "riemann_left": exact - h / 2 * jump + h**2 / 12 * slope_jump,
        "riemann_right": exact + h / 2 * jump + h**2 / 12 * slope_jump,
        "riemann_middle": exact - h**2 / 24 * slope_jump,
        "riemann_trapezoid": exact + slope_jump / (12 * (n - 1) ** 2),
        "gausslegendre": exact,
        "fejer": exact + 3 * c * d**2 * (weights @ alphas**2 - 1 / 3),
    }[rule]
    return d * integral


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n_steps", [2, 5, 16])
def test_each_rule_gives_the_closed_form_attributions_of_a_cubic(rule, n_steps):
    rng = np.random.default_rng(n_steps)
    x, b, c = rng.normal(size=6), rng.normal(size=6), rng.normal(size=(2, 6))
    view = cubic_view(x, b, c)
    for target in (0, 1):
        values = IntegratedGradients(n_steps=n_steps, rule=rule).attribute(view, target).values
        np.testing.assert_allclose(
            values.numpy(), closed_form(rule, n_steps, x, b, c[target]), rtol=1e-10, atol=1e-12
        )


def test_trapezoid_converges_to_the_exact_integral_and_captum_does_not():
    """Ours: error O(1/n^2). Captum's weights sum to (n-1)/n, off by ~1/n of the total."""
    captum_attr = pytest.importorskip("captum.attr")
    rng = np.random.default_rng(0)
    x, b, c = rng.normal(size=5), rng.normal(size=5), rng.normal(size=(2, 5))
    view = cubic_view(x, b, c)
    exact = c[1] * (x**3 - b**3)
    n = 40
    ours = IntegratedGradients(n_steps=n, rule="riemann_trapezoid").attribute(view, 1).values
    theirs = captum_attr.IntegratedGradients(view.forward).attribute(
        view.inputs.clone(), view.baseline, target=1, n_steps=n, method="riemann_trapezoid"
    )[0]
    scale = np.abs(exact).max()
    assert np.abs(ours.numpy() - exact).max() < 5 / (n - 1) ** 2 * scale
    np.testing.assert_allclose(theirs.numpy(), ours.numpy() * (n - 1) / n, rtol=1e-6)
    assert np.abs(theirs.numpy() - exact).max() > 0.5 / n * np.abs(exact).min()


# -- completeness on a tiny BERT ---------------------------------------------------------------
@pytest.fixture(scope="module")
def explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


def scores_at_input_and_pad_baseline(model, tokenizer, text: str, target: int, softmax=False):
    """f(x) from the token ids and f(baseline) from [PAD] embeddings, computed here."""
    enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask").bool()
    base_ids = torch.where(special, enc["input_ids"], tokenizer.pad_token_id)
    with torch.no_grad():
        fx = model(**enc).logits
        extras = {k: v for k, v in enc.items() if k != "input_ids"}
        fb = model(inputs_embeds=model.get_input_embeddings()(base_ids), **extras).logits
    if softmax:
        fx, fb = fx.softmax(-1), fb.softmax(-1)
    return fx[0, target].item(), fb[0, target].item()


@pytest.mark.parametrize("rule", RULES)
def test_completeness_gap_is_the_one_computed_independently(
    explainer, tiny_bert, minilm_tokenizer, rule
):
    target = 0
    fx, fb = scores_at_input_and_pad_baseline(tiny_bert, minilm_tokenizer, TEXT, target)
    e = explainer.explain(TEXT, "integrated_gradients", target=target, n_steps=8, rule=rule)
    total = e.values.sum()
    gap = abs(total - (fx - fb)) / abs(fx - fb)
    assert e.diagnostics["completeness_gap"] == pytest.approx(gap, rel=1e-6, abs=1e-12)
    assert e.diagnostics["convergence_delta"] == pytest.approx(total - (fx - fb), rel=1e-6,
                                                                abs=1e-12)
    # attributions sum to f(x) - f(baseline) up to the reported gap
    assert abs(total - (fx - fb)) <= e.diagnostics["completeness_gap"] * abs(fx - fb) + 1e-12


def test_completeness_holds_to_rounding_with_many_gauss_legendre_steps(
    explainer, tiny_bert, minilm_tokenizer
):
    fx, fb = scores_at_input_and_pad_baseline(tiny_bert, minilm_tokenizer, TEXT, 1)
    e = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=64, rule="gausslegendre")
    assert e.values.sum() == pytest.approx(fx - fb, rel=1e-8)
    assert e.diagnostics["completeness_gap"] < 1e-8


def test_completeness_also_holds_for_probabilities(tiny_bert, minilm_tokenizer):
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, output="probability")
    px, pb = scores_at_input_and_pad_baseline(tiny_bert, minilm_tokenizer, TEXT, 1, softmax=True)
    e = ex.explain(TEXT, "integrated_gradients", target=1, n_steps=64)
    assert e.output == "probability"
    assert e.values.sum() == pytest.approx(px - pb, rel=1e-8)


def test_adaptive_mode_doubles_n_steps_until_the_gap_is_within_tolerance(explainer):
    tolerance = 0.02
    e = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=2,
                          rule="riemann_right", adaptive=True, tolerance=tolerance)
    n = e.diagnostics["n_steps"]
    assert n > 2 and n in (4, 8, 16, 32, 64, 128, 256, 512)
    assert e.diagnostics["completeness_gap"] <= tolerance
    half = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=n // 2,
                             rule="riemann_right")
    assert half.diagnostics["completeness_gap"] > tolerance  # it did not stop too late
    fixed = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=n,
                              rule="riemann_right")
    np.testing.assert_allclose(e.values, fixed.values, rtol=1e-12)
    # the model evaluated every pass: 2 + 4 + ... + n path points, 1 baseline, 1 prediction
    assert e.n_model_evals == sum(2**k for k in range(1, n.bit_length())) + 2


def test_adaptive_trapezoid_keeps_its_nodes_and_evaluates_only_the_new_midpoints(explainer):
    tolerance = 1e-3
    e = explainer.explain(TEXT, "integrated_gradients", target=1, rule="riemann_trapezoid",
                          tolerance=tolerance)
    n = e.diagnostics["n_steps"]
    assert e.params["adaptive"] is True and n in (17, 33, 65, 129, 257)  # refined at least once
    assert e.diagnostics["completeness_gap"] <= tolerance
    fixed = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=n,
                              rule="riemann_trapezoid")
    np.testing.assert_allclose(e.values, fixed.values, rtol=1e-10, atol=1e-14)
    coarser = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=(n + 1) // 2,
                                rule="riemann_trapezoid")
    assert coarser.diagnostics["completeness_gap"] > tolerance  # it did not stop too late
    # n path points in all (9 + 8 + 16 + ...), 1 baseline, 1 prediction: nothing recomputed
    assert e.n_model_evals == n + 2


@pytest.mark.parametrize("target", [0, 1])
def test_adaptive_fejer_keeps_its_nodes_and_equals_the_rule_on_its_final_nodes(
    explainer, target
):
    tolerance = 1e-9  # tight enough to refine on the smooth tiny BERT (15 nodes: ~7e-6)
    e = explainer.explain(TEXT, "integrated_gradients", target=target, tolerance=tolerance)
    n = e.diagnostics["n_steps"]
    assert e.params["rule"] == "fejer" and e.params["adaptive"] is True
    assert n in (31, 63, 127, 255)  # refined at least once from 15
    assert e.diagnostics["completeness_gap"] <= tolerance
    fixed = explainer.explain(TEXT, "integrated_gradients", target=target, n_steps=n,
                              rule="fejer")
    assert fixed.params["adaptive"] is False
    np.testing.assert_allclose(e.values, fixed.values, rtol=1e-10, atol=1e-14)
    coarser = explainer.explain(TEXT, "integrated_gradients", target=target,
                                n_steps=(n - 1) // 2, rule="fejer")
    assert coarser.diagnostics["completeness_gap"] > tolerance  # it did not stop too late
    # n path points in all (15 + 16 + 32 + ...), 1 baseline, 1 prediction: none recomputed
    assert e.n_model_evals == n + 2


def test_adaptive_fejer_stops_at_its_last_nested_rule_within_max_steps(explainer):
    e = explainer.explain(TEXT, "integrated_gradients", target=1, tolerance=1e-12,
                          max_steps=62)
    assert e.diagnostics["n_steps"] == 31  # 15, 31; 63 > 62 and a fresh rule would redo all
    assert e.diagnostics["completeness_gap"] > 1e-12  # reported as it is: not converged
    fixed = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=31, rule="fejer")
    np.testing.assert_allclose(e.values, fixed.values, rtol=1e-10, atol=1e-14)
    assert e.n_model_evals == 15 + 16 + 2


def test_n_steps_given_keeps_gauss_legendre_values_unchanged(explainer):
    """The default rule is Fejer only without n_steps: with it, Gauss-Legendre as before."""
    plain = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=20)
    asked = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=20,
                              rule="gausslegendre")
    assert plain.params["rule"] == "gausslegendre" and plain.params["adaptive"] is False
    np.testing.assert_array_equal(plain.values, asked.values)
    alphas, weights = quadrature("gausslegendre", 20)
    view = cubic_view(np.ones(3), np.zeros(3), np.ones((2, 3)))
    direct = IntegratedGradients(n_steps=20).attribute(view, 1).values
    np.testing.assert_allclose(direct.numpy(), np.ones(3), rtol=1e-12)  # exact: x^3 - 0
    adaptive_gl = explainer.explain(TEXT, "integrated_gradients", target=1,
                                    rule="gausslegendre", tolerance=1e-12)
    n = adaptive_gl.diagnostics["n_steps"]
    assert n in (32, 64, 128, 256, 512)  # 16, 32, ...: restarts as before
    assert adaptive_gl.n_model_evals == sum(16 * 2**k for k in range(n.bit_length() - 4)) + 2


def test_adaptive_mode_stops_at_max_steps_and_reports_the_remaining_gap(explainer):
    e = explainer.explain(TEXT, "integrated_gradients", target=1, n_steps=2, rule="riemann_left",
                          adaptive=True, tolerance=1e-12, max_steps=6)
    assert e.diagnostics["n_steps"] == 6
    assert e.diagnostics["completeness_gap"] > 1e-12


def test_default_settings_meet_a_one_percent_gap(minilm_random_head):
    """Defaults adapt n_steps (from 15 Fejer nodes) to a 1% gap; an explicit n_steps is
    used as given (Gauss-Legendre).

    On MiniLM (random head) these SST-2 dev sentences need more than 16 Gauss-Legendre
    steps for a 1% gap, so a fixed default of 16 would fail here.
    """
    from xplain.datasets import load_sst2

    model, tokenizer = minilm_random_head
    ex = xplain.Explainer(model, tokenizer=tokenizer)
    sentences = load_sst2("dev")["sentence"].tolist()
    for text in (sentences[2], sentences[6]):
        e = ex.explain(text, "integrated_gradients")
        assert e.diagnostics["completeness_gap"] <= 0.01
        assert e.params["adaptive"] is True and e.diagnostics["n_steps"] > 15
        fixed = ex.explain(text, "integrated_gradients", n_steps=16)
        assert fixed.params["adaptive"] is False and fixed.diagnostics["n_steps"] == 16
        assert fixed.diagnostics["completeness_gap"] > 0.01
        assert fixed.n_model_evals == 16 + 2


def test_internal_batch_size_changes_nothing_but_the_batching(explainer):
    whole = explainer.explain(TEXT, "integrated_gradients", n_steps=10)
    batched = explainer.explain(TEXT, "integrated_gradients", n_steps=10, internal_batch_size=3)
    np.testing.assert_allclose(batched.values, whole.values, rtol=1e-12, atol=1e-15)
    assert batched.n_model_evals == whole.n_model_evals == 10 + 2


def test_default_gap_is_below_one_percent_on_the_sentiment_model():
    """~4 s with the model cached, ~10 s when it is built first (not slow)."""
    zoo = pytest.importorskip("xplain.zoo")
    if not hasattr(zoo, "sentiment_classifier"):
        pytest.skip("xplain.zoo.sentiment_classifier is not there yet")
    from xplain.datasets import load_sst2

    model, tokenizer = zoo.sentiment_classifier()
    ex = xplain.Explainer(model, tokenizer=tokenizer)
    sentences = load_sst2("dev")["sentence"].tolist()[:10]
    gaps = [ex.explain(s, "integrated_gradients").diagnostics["completeness_gap"]
            for s in sentences]
    assert max(gaps) <= 0.01, gaps
