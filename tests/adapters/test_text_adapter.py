"""TextAdapter: tokens and special tokens, aggregation, words, baselines, truncation, masking.

Six tiny random architectures are built offline from configs with native tokenizers
trained here on a few sentences: WordPiece for BERT / DistilBERT / ELECTRA (each wrapped
in its own tokenizer class), byte-level BPE for RoBERTa and Unigram (SentencePiece-style)
for ALBERT and DeBERTa-v2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers as hf

import xplain
from xplain.methods.gradient.input_x_gradient import InputXGradient

GRADIENT_METHODS = ["saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"]
CORPUS = [
    "a gripping and funny film",
    "the plot is dull, but the acting works",
    "an unwatchable mess of a movie",
    "one of the best films of the year",
    "not good, not terrible",
    "the acting is great but the plot is thin",
]
ARCH_TEXT = "the unwatchable plot, gripping acting!"
WORDS = "the acting is great but the plot is thin"  # one MiniLM token per word


# -- tokenizers and tiny models for six architectures ---------------------------------------
def wordpiece_vocab() -> dict[str, int]:
    from tokenizers import BertWordPieceTokenizer

    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(CORPUS, vocab_size=150, min_frequency=1, show_progress=False,
                                special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return trainer.get_vocab()


def roberta_tokenizer():
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(CORPUS, vocab_size=300, min_frequency=1, show_progress=False,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    model = json.loads(trainer._tokenizer.to_str())["model"]
    return hf.RobertaTokenizerFast(vocab=model["vocab"],
                                   merges=[tuple(m) for m in model["merges"]])


def unigram_pieces(specials: list[str], unk: str) -> list[tuple[str, float]]:
    from tokenizers import SentencePieceUnigramTokenizer

    trainer = SentencePieceUnigramTokenizer()
    trainer.train_from_iterator(CORPUS, vocab_size=80, special_tokens=specials, unk_token=unk,
                                show_progress=False)
    return [tuple(p) for p in json.loads(trainer._tokenizer.to_str())["model"]["vocab"]]


SMALL = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
             max_position_embeddings=64, initializer_range=0.3, num_labels=2)


def build(arch: str):
    """(model, tokenizer) of a tiny random ``arch`` in eval mode, in float64."""
    if arch in ("bert", "distilbert", "electra"):
        cls = {"bert": hf.BertTokenizerFast, "distilbert": hf.DistilBertTokenizerFast,
               "electra": hf.ElectraTokenizerFast}[arch]
        tok = cls(vocab=wordpiece_vocab())
    elif arch == "roberta":
        tok = roberta_tokenizer()
    elif arch == "albert":
        tok = hf.AlbertTokenizerFast(vocab=unigram_pieces(
            ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"], "<unk>"))
    else:
        tok = hf.DebertaV2TokenizerFast(vocab=unigram_pieces(
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "[UNK]"), unk_id=1)
    common = dict(vocab_size=len(tok), pad_token_id=tok.pad_token_id)
    config = {
        "bert": lambda: hf.BertConfig(**common, **SMALL),
        "distilbert": lambda: hf.DistilBertConfig(
            **common, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=64,
            initializer_range=0.3),
        "electra": lambda: hf.ElectraConfig(**common, embedding_size=8, **SMALL),
        "roberta": lambda: hf.RobertaConfig(
            **common, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
            **{**SMALL, "max_position_embeddings": 66}),
        "albert": lambda: hf.AlbertConfig(**common, embedding_size=8, **SMALL),
        "deberta": lambda: hf.DebertaV2Config(
            **common, relative_attention=True, position_biased_input=False,
            pos_att_type=["p2c", "c2p"], **SMALL),
    }[arch]()
    model_cls = {
        "bert": hf.BertForSequenceClassification,
        "distilbert": hf.DistilBertForSequenceClassification,
        "electra": hf.ElectraForSequenceClassification,
        "roberta": hf.RobertaForSequenceClassification,
        "albert": hf.AlbertForSequenceClassification,
        "deberta": hf.DebertaV2ForSequenceClassification,
    }[arch]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = model_cls(config)
    return model.double().eval(), tok


ARCHS = ["bert", "distilbert", "roberta", "albert", "electra", "deberta"]


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_is_explained_token_by_token_by_every_gradient_method(arch):
    model, tok = build(arch)
    enc = tok(ARCH_TEXT, return_special_tokens_mask=True)
    tokens = tok.convert_ids_to_tokens(tok(ARCH_TEXT)["input_ids"])
    special = np.array(enc["special_tokens_mask"], dtype=bool)
    assert special[0] and special[-1] and not special[1:-1].any()
    ex = xplain.Explainer(model, tokenizer=tok)
    results = {}
    for method in GRADIENT_METHODS:
        e = ex.explain(ARCH_TEXT, method)
        assert e.features == tokens
        np.testing.assert_array_equal(e.special, special)
        assert e.values.shape == (len(tokens),) and np.isfinite(e.values).all()
        results[method] = e
    for method in ("saliency", "integrated_gradients", "smoothgrad"):
        assert np.abs(results[method].values[~special]).min() > 0
    assert (results["saliency"].values >= 0).all()
    ig = results["integrated_gradients"]
    assert ig.diagnostics["completeness_gap"] <= 0.01
    # the baseline keeps special tokens, so their path has length 0 and IG gives them 0
    assert (ig.values[special] == 0).all()

    # input x gradient, recomputed from the model itself with the tokenizer's own inputs
    inputs = tok(ARCH_TEXT, return_tensors="pt")
    ids = inputs.pop("input_ids")
    emb = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    logit = model(inputs_embeds=emb, **inputs).logits[0, results["input_x_gradient"].target]
    (grad,) = torch.autograd.grad(logit, emb)
    per_dim = (emb * grad)[0].detach().numpy()  # [T, H]
    # DeBERTa-v3-style embeddings (no position input) are LayerNorm(word embedding), which is
    # scale-invariant, so x . grad = 0 for every token: compare to the per-dimension scale.
    np.testing.assert_allclose(results["input_x_gradient"].values, per_dim.sum(-1), rtol=1e-9,
                               atol=1e-10 * np.abs(per_dim).max())


@pytest.mark.parametrize("arch", ARCHS)
def test_every_architecture_truncates_long_texts_and_merges_words(arch):
    model, tok = build(arch)
    long_text = " ".join([ARCH_TEXT] * 40)
    ex = xplain.Explainer(model, tokenizer=tok)
    e = ex.explain(long_text, "saliency")
    # 64 usable positions everywhere (RoBERTa: 66 rows minus its padding offset of 2)
    assert len(e.features) == 64 and e.special[0] and e.special[-1]
    assert "truncated" in e.diagnostics
    view = ex.adapter.interpretable_view(ex.adapter.encode(long_text), "logits")
    assert view.n_features == 62 and np.isfinite(view.base_scores).all()

    merged = xplain.Explainer(model, tokenizer=tok, merge_subwords=True).explain(
        ARCH_TEXT, "saliency")
    inner = [f for f, s in zip(merged.features, merged.special, strict=True) if not s]
    assert "".join(inner) == ARCH_TEXT.replace(" ", "")
    assert all(f and f == f.strip() for f in inner)  # words, without the space before them


# -- the MiniLM tokenizer on a tiny float64 BERT ---------------------------------------------
@pytest.fixture(scope="module")
def explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


def per_dimension(ex: xplain.Explainer, text: str, target: int = 1) -> torch.Tensor:
    """Input x gradient per embedding dimension ``[T, H]`` through the view."""
    enc = ex.adapter.encode(text)
    ex.adapter.predict(enc)
    view = ex.adapter.differentiable_view(enc, "logits")
    return InputXGradient().attribute(view, target).values


def test_aggregations_are_the_reductions_over_the_hidden_dimension(tiny_bert, minilm_tokenizer):
    text = "an unwatchable mess, frankly"
    attr = per_dimension(xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer), text).numpy()
    expected = {"sum": attr.sum(-1), "l2": np.sqrt((attr**2).sum(-1)), "mean": attr.mean(-1)}
    for rule, values in expected.items():
        ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, aggregation=rule)
        e = ex.explain(text, "input_x_gradient", target=1)
        np.testing.assert_allclose(e.values, values, rtol=1e-12, atol=1e-15)
        assert e.features == ["[CLS]", "an", "un", "##watch", "##able", "mess", ",", "frankly",
                              "[SEP]"]


@pytest.mark.parametrize("rule", ["sum", "l2", "mean"])
def test_merge_subwords_groups_pieces_into_words(tiny_bert, minilm_tokenizer, rule):
    text = "An unwatchable Rollercoaster-like mess"
    # pieces: [CLS] an | un ##watch ##able | roller ##co ##aster | - | like | mess [SEP]
    attr = per_dimension(xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer), text).numpy()
    groups = [[0], [1], [2, 3, 4], [5, 6, 7], [8], [9], [10], [11]]
    reduce = {
        "sum": lambda a: a.sum(),
        "l2": lambda a: np.sqrt((a**2).sum()),
        "mean": lambda a: a.mean(),
    }[rule]
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, merge_subwords=True,
                          aggregation=rule)
    e = ex.explain(text, "input_x_gradient", target=1)
    assert e.features == ["[CLS]", "An", "unwatchable", "Rollercoaster", "-", "like", "mess",
                          "[SEP]"]
    np.testing.assert_array_equal(e.special, [True] + [False] * 6 + [True])
    np.testing.assert_allclose(e.values, [reduce(attr[g]) for g in groups], rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("kind", ["pad", "mask", "zero"])
def test_baselines_replace_ordinary_tokens_and_keep_special_ones(tiny_bert, minilm_tokenizer,
                                                                 kind):
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, baseline=kind)
    enc = ex.adapter.encode(WORDS)
    view = ex.adapter.differentiable_view(enc, "logits")
    table = tiny_bert.get_input_embeddings().weight.detach()  # [V, H]
    ids = minilm_tokenizer(WORDS)["input_ids"]
    assert ids[0] == minilm_tokenizer.cls_token_id and ids[-1] == minilm_tokenizer.sep_token_id
    fill = {"pad": table[minilm_tokenizer.pad_token_id],
            "mask": table[minilm_tokenizer.mask_token_id],
            "zero": torch.zeros(table.shape[1], dtype=table.dtype)}[kind]
    expected = torch.stack([table[ids[0]]] + [fill] * (len(ids) - 2) + [table[ids[-1]]])
    assert torch.equal(view.baseline[0], expected)
    assert torch.equal(view.inputs[0], table[ids])
    e = ex.explain(WORDS, "integrated_gradients", n_steps=32)
    assert e.diagnostics["completeness_gap"] < 1e-3  # completeness w.r.t. this baseline
    assert e.values[0] == 0 and e.values[-1] == 0


def test_long_texts_are_truncated_with_a_note(tiny_bert, minilm_tokenizer):
    long_text = " ".join(["the plot is thin"] * 30)  # 120 words, model max 64 positions
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    for method in GRADIENT_METHODS:
        e = ex.explain(long_text, method, **({"n_steps": 4} if "integ" in method else {}))
        assert len(e.features) == 64
        assert e.features[0] == "[CLS]" and e.features[-1] == "[SEP]"
        assert "122" in e.diagnostics["truncated"] and "64" in e.diagnostics["truncated"]
    short = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, max_length=6)
    e = short.explain(WORDS, "saliency")
    assert e.features == ["[CLS]", "the", "acting", "is", "great", "[SEP]"]
    assert "truncated" in e.diagnostics
    assert "truncated" not in ex.explain(WORDS, "saliency").diagnostics


def test_the_real_minilm_truncates_at_512_tokens(minilm_random_head):
    model, tokenizer = minilm_random_head
    text = "the plot is thin " * 200  # 800 words
    e = xplain.Explainer(model, tokenizer=tokenizer).explain(text, "saliency")
    assert len(e.features) == 512 and e.features[-1] == "[SEP]"
    assert e.diagnostics["truncated"].startswith("the text has 802 tokens")


# -- the interpretable view: masks -> the model's scores on the edited text ------------------
def edited(words: list[str], keep: np.ndarray, replacement: str) -> str:
    token = {"mask": "[MASK]", "pad": "[PAD]"}.get(replacement)
    return " ".join(w if k else token for w, k in zip(words, keep, strict=True) if k or token)


@pytest.mark.parametrize("replacement", ["mask", "pad", "remove"])
def test_masks_give_the_scores_of_the_correspondingly_edited_text(
    tiny_bert, minilm_tokenizer, replacement
):
    words = WORDS.split()
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, replacement=replacement)
    enc = ex.adapter.encode(WORDS)
    ex.adapter.predict(enc)
    view = ex.adapter.interpretable_view(enc, "logits")
    assert view.n_features == len(words) and view.n_total == len(words) + 2
    np.testing.assert_array_equal(view.active, np.arange(1, len(words) + 1))
    rng = np.random.default_rng(0)
    masks = np.vstack([np.ones(len(words)), np.zeros(len(words)),
                       rng.random((6, len(words))) < 0.5]).astype(bool)
    got = view.evaluate(masks)
    for mask, scores in zip(masks, got, strict=True):
        text = edited(words, mask, replacement)
        inputs = minilm_tokenizer(text, return_tensors="pt")
        if replacement != "remove":
            assert inputs["input_ids"].shape[1] == len(words) + 2
        with torch.no_grad():
            expected = tiny_bert(**inputs).logits[0].numpy()
        np.testing.assert_allclose(scores, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(view.scores, got[0], rtol=1e-12)
    np.testing.assert_allclose(view.base_scores, got[1], rtol=1e-12)


def test_masking_a_merged_word_hides_all_of_its_pieces(tiny_bert, minilm_tokenizer):
    text = "an unwatchable mess"
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, merge_subwords=True,
                          replacement="remove")
    enc = ex.adapter.encode(text)
    view = ex.adapter.interpretable_view(enc, "logits")
    assert enc.features == ["[CLS]", "an", "unwatchable", "mess", "[SEP]"]
    got = view.evaluate(np.array([[True, False, True]]))[0]
    with torch.no_grad():
        expected = tiny_bert(**minilm_tokenizer("an mess", return_tensors="pt")).logits[0]
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-9)
