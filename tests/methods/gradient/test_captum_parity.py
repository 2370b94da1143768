"""Parity of the text gradient methods with Captum on the same (tiny, float64) BERT.

The model is float64 (``tiny_bert``) so that differences are pure rounding: Captum builds
its Riemann nodes with float32 ``torch.linspace``, which alone leaves ~1e-7 relative
differences; everything is asserted to 1e-5 relative. Per-dimension attributions come
from the view (``method.attribute(view, target).values``); per-token values from
``Explainer.explain`` and are compared with Captum's attributions summed over the hidden
dimension (the adapter's default ``aggregation="sum"``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

captum_attr = pytest.importorskip("captum.attr")

import xplain  # noqa: E402
from xplain.methods.gradient.input_x_gradient import InputXGradient  # noqa: E402
from xplain.methods.gradient.integrated_gradients import IntegratedGradients  # noqa: E402
from xplain.methods.gradient.saliency import Saliency  # noqa: E402
from xplain.methods.gradient.smoothgrad import SmoothGrad  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")

TEXT = "a gripping, funny film about nothing"
RTOL = 1e-5


def assert_parity(ours, theirs, rtol: float = RTOL) -> None:
    """Element-wise agreement to ``rtol`` of the largest magnitude (relative error)."""
    ours = np.asarray(torch.as_tensor(ours).detach().double())
    theirs = np.asarray(torch.as_tensor(theirs).detach().double())
    assert ours.shape == theirs.shape
    scale = np.abs(theirs).max()
    assert scale > 0
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * scale)


@pytest.fixture(scope="module")
def setup(tiny_bert, minilm_tokenizer):
    """(explainer, encoded, view, forward on embeddings, input ids, extras)."""
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    encoded = explainer.adapter.encode(TEXT)
    explainer.adapter.predict(encoded)
    view = explainer.adapter.differentiable_view(encoded, "logits")
    extras = encoded.data["extras"]

    def embeds_forward(embeddings: torch.Tensor) -> torch.Tensor:
        n = embeddings.shape[0]
        return tiny_bert(
            inputs_embeds=embeddings,
            attention_mask=extras["attention_mask"].expand(n, -1),
            token_type_ids=extras["token_type_ids"].expand(n, -1),
        ).logits

    return explainer, encoded, view, embeds_forward, encoded.data["input_ids"], extras


@pytest.fixture(scope="module")
def embeddings(setup, tiny_bert):
    """The word embeddings of the text, computed here from the model (not the adapter)."""
    ids = setup[4]
    with torch.no_grad():
        return tiny_bert.get_input_embeddings()(ids)  # [1, T, H]


def test_the_view_is_the_word_embeddings_and_its_forward_is_the_model(setup, embeddings):
    explainer, encoded, view, embeds_forward, ids, extras = setup
    assert view.inputs.dtype == torch.float64
    assert torch.equal(view.inputs, embeddings)
    with torch.no_grad():
        direct = explainer.adapter.model.model(input_ids=ids, **extras).logits
    assert torch.allclose(view.forward(view.inputs), direct, rtol=1e-10, atol=1e-12)
    assert torch.allclose(embeds_forward(view.inputs), direct, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("absolute", [True, False])
@pytest.mark.parametrize("target", [0, 1])
def test_saliency_matches_captum(setup, embeddings, absolute, target):
    explainer, _, view, embeds_forward, _, _ = setup
    theirs = captum_attr.Saliency(embeds_forward).attribute(
        embeddings.clone(), target=target, abs=absolute
    )[0]  # [T, H]
    ours = Saliency(absolute=absolute).attribute(view, target).values
    assert_parity(ours, theirs)
    if absolute:
        assert (ours >= 0).all()
    else:
        assert (ours < 0).any() and (ours > 0).any()
    e = explainer.explain(TEXT, "saliency", target=target, absolute=absolute)
    if absolute:
        assert_parity(e.values, theirs.sum(-1))
    else:
        # BERT normalises the embedding sum with LayerNorm, which ignores a shift of all
        # hidden dims: the signed gradient of every token sums to 0 over them, so "sum"
        # aggregation of signed saliency is 0 by construction; compare the L2 norm instead.
        assert np.abs(e.values).max() < 1e-10 * float(theirs.abs().max())
        by_norm = xplain.Explainer(explainer.model, tokenizer=explainer.adapter.tokenizer,
                                   aggregation="l2")
        l2 = by_norm.explain(TEXT, "saliency", target=target, absolute=False)
        assert_parity(l2.values, theirs.norm(dim=-1))


@pytest.mark.parametrize("target", [0, 1])
def test_input_x_gradient_matches_captum(setup, embeddings, target):
    explainer, _, view, embeds_forward, _, _ = setup
    theirs = captum_attr.InputXGradient(embeds_forward).attribute(
        embeddings.clone(), target=target
    )[0]
    assert_parity(InputXGradient().attribute(view, target).values, theirs)
    assert_parity(explainer.explain(TEXT, "input_x_gradient", target=target).values,
                  theirs.sum(-1))


@pytest.mark.parametrize("rule", ["riemann_left", "riemann_right", "riemann_middle",
                                  "gausslegendre"])
def test_integrated_gradients_matches_captum_layer_ig_over_the_embedding_layer(
    setup, tiny_bert, minilm_tokenizer, rule
):
    explainer, encoded, view, _, ids, extras = setup
    # baseline="pad": every non-special token replaced by [PAD], [CLS]/[SEP] kept
    special = torch.as_tensor(encoded.special)
    assert special.tolist() == [t in ("[CLS]", "[SEP]") for t in encoded.features]
    baseline_ids = torch.where(special[None], ids, minilm_tokenizer.pad_token_id)

    def ids_forward(input_ids, attention_mask, token_type_ids):
        return tiny_bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits

    layer_ig = captum_attr.LayerIntegratedGradients(ids_forward, tiny_bert.get_input_embeddings())
    target, n_steps = 1, 12
    theirs = layer_ig.attribute(
        ids,
        baselines=baseline_ids,
        target=target,
        additional_forward_args=(extras["attention_mask"], extras["token_type_ids"]),
        n_steps=n_steps,
        method=rule,
    )[0]  # [T, H]
    ours = IntegratedGradients(n_steps=n_steps, rule=rule).attribute(view, target).values
    assert_parity(ours, theirs)
    e = explainer.explain(TEXT, "integrated_gradients", target=target, n_steps=n_steps,
                          rule=rule)
    assert_parity(e.values, theirs.sum(-1))
    assert e.diagnostics["n_steps"] == n_steps  # an explicit n_steps is not adapted


def test_captum_trapezoid_is_ours_shrunk_by_n_minus_1_over_n(setup, tiny_bert, minilm_tokenizer):
    """Captum's riemann_trapezoid weights sum to (n-1)/n; ours sum to 1 (see _quadrature)."""
    _, encoded, view, embeds_forward, _, _ = setup
    n_steps, target = 10, 1
    theirs = captum_attr.IntegratedGradients(embeds_forward).attribute(
        view.inputs.clone(), baselines=view.baseline, target=target, n_steps=n_steps,
        method="riemann_trapezoid",
    )[0]
    ours = IntegratedGradients(n_steps=n_steps, rule="riemann_trapezoid").attribute(
        view, target
    ).values
    assert_parity(theirs, ours * (n_steps - 1) / n_steps)


# -- SmoothGrad vs NoiseTunnel with the very same noise ---------------------------------------
class NoiseRecorder:
    """Records the standard-normal draws xplain makes; serves them (scaled) to Captum.

    xplain draws ``np.random.default_rng(seed).standard_normal([n, 1, T, H])`` and scales
    it; Captum's NoiseTunnel draws ``torch.normal(0, std_expanded)`` of shape ``[n, T, H]``.
    Replacing Captum's draw by the recorded noise is the only honest way to give both the
    same noise (their RNG streams and draw calls differ).
    """

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.draws: list[torch.Tensor] = []
        self.requested: list[torch.Tensor] = []

    def record_xplain(self):
        real = np.random.default_rng
        draws = self.draws

        class Recording:
            def __init__(self, seed):
                self.rng = real(seed)

            def standard_normal(self, *args, **kwargs):
                out = self.rng.standard_normal(*args, **kwargs)
                draws.append(torch.as_tensor(out.copy()))
                return out

        self.monkeypatch.setattr(np.random, "default_rng", Recording)

    def serve_captum(self, std: float):
        self.monkeypatch.undo()
        (draw,) = self.draws
        noise = (draw[:, 0] * std).clone()  # [n, T, H], sample-major as Captum expects

        def normal(mean, std_expanded, *args, **kwargs):
            self.requested.append(std_expanded)
            assert mean == 0 and tuple(std_expanded.shape) == tuple(noise.shape)
            return noise.clone()

        self.monkeypatch.setattr(torch, "normal", normal)


NT_BASES = {
    "saliency": (lambda fwd: captum_attr.Saliency(fwd), {"abs": True}, {}),
    "integrated_gradients": (
        lambda fwd: captum_attr.IntegratedGradients(fwd),
        {"n_steps": 6, "method": "gausslegendre"},
        {"n_steps": 6, "rule": "gausslegendre"},
    ),
}


@pytest.mark.parametrize("variant", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("base", ["saliency", "integrated_gradients"])
def test_smoothgrad_matches_captum_noise_tunnel_with_the_same_noise(
    setup, monkeypatch, base, variant
):
    explainer, _, view, embeds_forward, _, _ = setup
    n_samples, noise_std, target, seed = 5, 0.2, 1, 3
    make_captum, captum_kwargs, our_kwargs = NT_BASES[base]
    if base == "integrated_gradients":
        captum_kwargs = {**captum_kwargs, "baselines": view.baseline}
    std = noise_std * view.noise_scale  # text: the token embeddings' spread

    recorder = NoiseRecorder(monkeypatch)
    recorder.record_xplain()
    method = SmoothGrad(base=base, noise_samples=n_samples, noise_std=noise_std,
                        variant=variant, seed=seed, **our_kwargs)
    result = method.attribute(view, target)
    assert len(recorder.draws) == 1 and recorder.draws[0].shape == (n_samples, *view.inputs.shape)
    assert result.diagnostics["noise_std_abs"] == pytest.approx(std, rel=1e-12)

    recorder.serve_captum(std)
    tunnel = captum_attr.NoiseTunnel(make_captum(embeds_forward))
    theirs = tunnel.attribute(
        view.inputs.clone(), nt_type=variant, nt_samples=n_samples, stdevs=std,
        target=target, **captum_kwargs,
    )[0]
    assert len(recorder.requested) == 1
    assert torch.allclose(recorder.requested[0].double(), torch.tensor(std, dtype=torch.float64),
                          rtol=1e-6)
    assert_parity(result.values, theirs)

    monkeypatch.undo()  # the explain below draws its own noise again, from the same seed
    e = explainer.explain(TEXT, "smoothgrad", target=target, base=base, noise_samples=n_samples,
                          noise_std=noise_std, variant=variant, seed=seed, **our_kwargs)
    assert_parity(e.values, theirs.sum(-1))
