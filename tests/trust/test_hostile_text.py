"""Second hostile try-out, text models and gradient methods: each test is one defect found
(a raw exception, a misleading message or a silent guess), named after what it checks."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from random_models import random_bert

import xplain
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
)

TEXT = "a gripping film"


@pytest.fixture(scope="module")
def model(minilm_tokenizer):
    return random_bert(minilm_tokenizer.vocab_size, initializer_range=0.5)


class _Wrapped(torch.nn.Module):
    """A Hugging Face classifier behind a forward that post-processes its logits."""

    def __init__(self, inner: torch.nn.Module, post) -> None:
        super().__init__()
        self.inner, self.post, self.config = inner, post, inner.config

    def get_input_embeddings(self) -> torch.nn.Module:
        return self.inner.get_input_embeddings()

    def forward(self, **inputs):
        return self.post(self.inner(**inputs).logits)


def test_integer_scores_refused_by_gradient_methods_not_raw_autograd_error(
    model, minilm_tokenizer
):
    rounded = _Wrapped(model, lambda z: (z * 10).round().long())
    ex = xplain.Explainer(rounded, tokenizer=minilm_tokenizer)
    # was: RuntimeError "element 0 of tensors does not require grad"
    with pytest.raises(MethodNotApplicableError, match="integer scores"):
        ex.explain(TEXT, method="saliency")
    # perturbation methods need no gradient: the same model is explained
    e = ex.explain(TEXT, method="occlusion", target=1)
    assert np.all(np.isfinite(e.values))


def test_detached_scores_refused_by_gradient_methods(model, minilm_tokenizer):
    detached = _Wrapped(model, lambda z: z.detach())
    ex = xplain.Explainer(detached, tokenizer=minilm_tokenizer)
    with pytest.raises(MethodNotApplicableError, match="does not depend differentiably"):
        ex.explain(TEXT, method="integrated_gradients")


def test_gradient_methods_inside_inference_mode_say_so(model, minilm_tokenizer):
    ex = xplain.Explainer(model, tokenizer=minilm_tokenizer)
    with torch.inference_mode():
        with pytest.raises(MethodNotApplicableError, match="inference_mode"):
            ex.explain(TEXT, method="saliency")
        # perturbation methods run there, and give the same values as outside
        inside = ex.explain(TEXT, method="occlusion", target=1)
    outside = ex.explain(TEXT, method="occlusion", target=1)
    np.testing.assert_allclose(inside.values, outside.values)


def test_token_ids_beyond_the_model_vocabulary_are_refused(minilm_tokenizer):
    small = random_bert(100)  # 100 word embeddings; the tokenizer has 30,522 ids
    ex = xplain.Explainer(small, tokenizer=minilm_tokenizer)
    # was: IndexError "index out of range in self" from torch's embedding
    with pytest.raises(InvalidInputError, match="only 100 word embeddings"):
        ex.explain(TEXT, method="occlusion")


def test_max_length_leaving_no_room_for_a_token_is_refused_up_front(model, minilm_tokenizer):
    # was: "no token but the special ones ... the tokenizer drops zero-width characters",
    # a wrong cause, raised only when a text was explained
    with pytest.raises(InvalidParameterError, match="max_length=2 .* 2 special tokens"):
        xplain.Explainer(model, tokenizer=minilm_tokenizer, max_length=2)
    e = xplain.Explainer(model, tokenizer=minilm_tokenizer, max_length=3).explain(
        TEXT, method="saliency"
    )
    assert e.features == ["[CLS]", "a", "[SEP]"]


def test_truncation_note_names_the_limit_that_applied(model, minilm_tokenizer):
    e = xplain.Explainer(model, tokenizer=minilm_tokenizer, max_length=4).explain(
        TEXT, method="saliency"
    )
    note = e.diagnostics["truncated"]
    # was: "(the model's max_length)" although the user's max_length=4 cut the text
    assert "max_length=4" in note and "model's" not in note
    assert "has 5 tokens, 2 special ones included; only the first 4 were" in note
    long = xplain.Explainer(model, tokenizer=minilm_tokenizer).explain(
        "good " * 100, method="saliency"
    )
    assert "the model accepts at most 64 tokens" in long.diagnostics["truncated"]


def test_duplicate_class_labels_are_refused_not_resolved_to_the_first(minilm_tokenizer):
    twins = random_bert(
        minilm_tokenizer.vocab_size, id2label={0: "pos", 1: "pos"}, label2id={"pos": 1}
    )
    # was: target="pos" silently explained class 0
    with pytest.raises(InvalidParameterError, match="'pos'.* classes 0 and 1"):
        xplain.Explainer(twins, tokenizer=minilm_tokenizer)


def test_model_on_the_meta_device_is_refused(model, minilm_tokenizer):
    meta = copy.deepcopy(model).to("meta")
    # was: RuntimeError "Tensor.item() cannot be called on meta tensors"
    with pytest.raises(InvalidParameterError, match="meta"):
        xplain.Explainer(meta, tokenizer=minilm_tokenizer)


def test_adaptive_ig_refuses_max_steps_below_its_start(model, minilm_tokenizer):
    ex = xplain.Explainer(model, tokenizer=minilm_tokenizer)
    # was: max_steps=2 ignored, 16 steps evaluated (n_steps in diagnostics: 16)
    with pytest.raises(InvalidParameterError, match="n_steps=15; max_steps=2 is below"):
        ex.explain(TEXT, method="integrated_gradients", max_steps=2)
    e = ex.explain(TEXT, method="integrated_gradients", max_steps=16)
    assert e.diagnostics["n_steps"] == 15  # Fejer's next nested rule (31) is above the cap


def test_baseline_token_fallback_is_stated(model, minilm_tokenizer):
    no_pad = copy.deepcopy(minilm_tokenizer)
    no_pad.pad_token = None
    ex = xplain.Explainer(model, tokenizer=no_pad)
    e = ex.explain(TEXT, method="integrated_gradients")
    # was: the [UNK] embedding silently served as the "pad" baseline
    assert "[UNK]" in e.diagnostics["baseline_note"]
    unk = xplain.Explainer(model, tokenizer=minilm_tokenizer, baseline="pad")
    ref = unk.explain(TEXT, method="integrated_gradients")
    assert "baseline_note" not in ref.diagnostics


def _captum_ig(model, tokenizer, text: str, target: int) -> np.ndarray:
    """Captum's LayerIntegratedGradients over the word embeddings (PAD baseline, special
    tokens kept), summed per token."""
    from captum.attr import LayerIntegratedGradients

    enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask").bool()
    ids = enc.pop("input_ids")
    baseline = torch.where(special, ids, tokenizer.pad_token_id)

    def forward(input_ids):
        extras = {k: v.expand(input_ids.shape[0], -1) for k, v in enc.items()}
        return model(input_ids=input_ids, **extras).logits

    lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
    attr = lig.attribute(ids, baselines=baseline, target=target, n_steps=32)
    return attr[0].sum(-1).detach().double().numpy()


def test_regression_model_explains_its_score_not_a_sigmoid_probability(minilm_tokenizer):
    # Hugging Face reads num_labels=1 (problem_type None or "regression") as a regression
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=minilm_tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
        initializer_range=0.5,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        regressor = BertForSequenceClassification(config).eval().double()
    ex = xplain.Explainer(regressor, tokenizer=minilm_tokenizer)
    e = ex.explain(TEXT, method="integrated_gradients", n_steps=32)
    with torch.no_grad():
        score = regressor(**minilm_tokenizer(TEXT, return_tensors="pt")).logits[0, 0].item()
    # was: prediction [1 - sigmoid(z), sigmoid(z)], shown as "p=0.544" for a score
    np.testing.assert_allclose(e.prediction, [score], rtol=1e-9)
    assert not e.prediction_is_probability
    assert e.prediction_text() == f"prediction={score:.6g}"
    assert "regression" in e.diagnostics["model_output"]
    expected = _captum_ig(regressor, minilm_tokenizer, TEXT, 0)
    np.testing.assert_allclose(e.values, expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(InvalidParameterError, match="'output'.*'logits'"):
        xplain.Explainer(regressor, tokenizer=minilm_tokenizer, output="probability")


def test_multi_label_model_shows_sigmoid_per_label_not_a_softmax(minilm_tokenizer):
    tagger = random_bert(
        minilm_tokenizer.vocab_size,
        initializer_range=0.5,
        problem_type="multi_label_classification",
    )
    ex = xplain.Explainer(tagger, tokenizer=minilm_tokenizer)
    e = ex.explain(TEXT, method="saliency", target=1)
    with torch.no_grad():
        z = tagger(**minilm_tokenizer(TEXT, return_tensors="pt")).logits[0].double()
    # was: softmax over the labels, as if exactly one label held
    np.testing.assert_allclose(e.prediction, torch.sigmoid(z).numpy(), rtol=1e-6)
    assert "independent" in e.diagnostics["model_output"]
    # a softmax over independent labels is no probability of the model's: refused
    with pytest.raises(InvalidParameterError, match="'output'"):
        xplain.Explainer(tagger, tokenizer=minilm_tokenizer, output="probability")


def _tiny(config_class, model_class, vocab_size: int, **config) -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return model_class(config_class(vocab_size=vocab_size, num_labels=2, **config)).eval()


def test_decoder_without_pad_token_id_is_told_how_to_score_batches(minilm_tokenizer):
    from transformers import GPT2Config, GPT2ForSequenceClassification

    gpt2 = _tiny(
        GPT2Config,
        GPT2ForSequenceClassification,
        minilm_tokenizer.vocab_size,
        n_embd=16,
        n_layer=1,
        n_head=2,
        n_positions=64,
    )
    ex = xplain.Explainer(gpt2, tokenizer=minilm_tokenizer)
    # was: ValueError "Cannot handle batch sizes > 1 if no padding token is defined."
    with pytest.raises(InvalidParameterError, match="config.pad_token_id"):
        ex.explain(TEXT, method="occlusion")
    fixed = copy.deepcopy(gpt2)
    fixed.config.pad_token_id = minilm_tokenizer.pad_token_id
    e = xplain.Explainer(fixed, tokenizer=minilm_tokenizer).explain(TEXT, method="occlusion")
    assert np.all(np.isfinite(e.values))


def test_model_refusing_input_embeddings_is_not_applicable_to_gradient_methods(
    minilm_tokenizer,
):
    from transformers import BartConfig, BartForSequenceClassification

    bart = _tiny(
        BartConfig,
        BartForSequenceClassification,
        minilm_tokenizer.vocab_size,
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        max_position_embeddings=64,
        eos_token_id=minilm_tokenizer.sep_token_id,
        pad_token_id=minilm_tokenizer.pad_token_id,
        bos_token_id=minilm_tokenizer.cls_token_id,
    )
    ex = xplain.Explainer(bart, tokenizer=minilm_tokenizer)
    # was: NotImplementedError "Passing input embeddings is currently not supported..."
    with pytest.raises(MethodNotApplicableError, match="inputs_embeds.*occlusion"):
        ex.explain(TEXT, method="integrated_gradients")
    assert np.all(np.isfinite(ex.explain(TEXT, method="occlusion").values))
