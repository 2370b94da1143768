"""Explanation objects on text: frames, JSON, repr, determinism, batches, noise, HTML."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

import xplain
from xplain.explanation import Explanation

TEXT = "a gripping, funny film with a dull ending"


@pytest.fixture(scope="module")
def explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@pytest.fixture(scope="module")
def ig(explainer):
    return explainer.explain(TEXT, "integrated_gradients", n_steps=8)


def test_explanation_fields(ig, minilm_tokenizer, tiny_bert):
    assert isinstance(ig, Explanation)
    assert ig.features == minilm_tokenizer.tokenize(TEXT, add_special_tokens=True)
    with torch.no_grad():
        logits = tiny_bert(**minilm_tokenizer(TEXT, return_tensors="pt")).logits[0]
    np.testing.assert_allclose(ig.prediction, torch.softmax(logits, -1).numpy(), rtol=1e-12)
    assert ig.target == int(logits.argmax()) == ig.predicted_class
    assert ig.target_label == ["negative", "positive"][ig.target] == ig.predicted_label
    assert ig.labels == ["negative", "positive"]
    assert ig.method == "integrated_gradients" and ig.modality == "text"
    assert ig.output == "logits"
    assert ig.params["n_steps"] == 8 and ig.params["rule"] == "gausslegendre"
    assert ig.n_model_evals == 8 + 2 and ig.seconds > 0


def test_to_frame_and_top(ig):
    frame = ig.to_frame()
    assert list(frame.columns) == ["feature", "value", "special"]
    assert frame["feature"].tolist() == ig.features
    np.testing.assert_array_equal(frame["value"], ig.values)
    np.testing.assert_array_equal(frame["special"], ig.special)
    top = ig.top(3)
    ordinary = frame[~frame["special"]]
    expected = ordinary["value"].abs().sort_values(ascending=False).index[:3]
    assert top.index.tolist() == expected.tolist()
    assert not top["special"].any()
    assert len(ig.top(100)) == len(ordinary)
    assert len(ig.top(100, include_special=True)) == len(frame)
    assert isinstance(top, pd.DataFrame)


def test_to_dict_is_json_and_round_trips_the_numbers(ig):
    d = json.loads(json.dumps(ig.to_dict()))
    assert d["features"] == ig.features
    np.testing.assert_array_equal(d["values"], ig.values)
    np.testing.assert_array_equal(d["prediction"], ig.prediction)
    assert d["special"] == ig.special.tolist()
    assert d["method"] == "integrated_gradients" and d["target_label"] == ig.target_label
    assert d["params"]["n_steps"] == 8
    assert d["diagnostics"]["completeness_gap"] == ig.diagnostics["completeness_gap"]


def test_repr_names_method_target_and_top_features(ig):
    text = repr(ig)
    assert text.startswith("Explanation(method='integrated_gradients'")
    assert f"target={ig.target_label!r}" in text
    assert f"n_features={len(ig.features)}" in text
    assert repr(ig.top(1)["feature"].iloc[0]) in text
    assert "[CLS]" not in text


def test_smoothgrad_is_deterministic_under_a_seed(explainer):
    a = explainer.explain(TEXT, "smoothgrad", noise_samples=4, seed=5)
    torch.manual_seed(99)
    np.random.seed(99)
    b = explainer.explain(TEXT, "smoothgrad", noise_samples=4, seed=5)
    c = explainer.explain(TEXT, "smoothgrad", noise_samples=4, seed=6)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)
    assert a.params["seed"] == 5


def test_inputs_are_not_mutated(tiny_bert, minilm_tokenizer):
    model = copy.deepcopy(tiny_bert)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    vocab = len(minilm_tokenizer)
    text = str(TEXT)
    ex = xplain.Explainer(model, tokenizer=minilm_tokenizer, merge_subwords=True)
    for method in ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"):
        ex.explain(text, method, **({"noise_samples": 2} if method == "smoothgrad" else {}))
    assert text == TEXT
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    for name, param in model.named_parameters():
        assert param.grad is None, name  # no gradient left accumulated on the weights
        assert param.requires_grad == flags[name]
    assert len(minilm_tokenizer) == vocab


def test_explain_batch_equals_individual_explains(explainer):
    texts = ["a gripping film", "an unwatchable mess", "not good, not terrible"]
    batch = explainer.explain_batch(texts, "integrated_gradients", target="positive", n_steps=6)
    assert len(batch) == len(texts)
    for text, e in zip(texts, batch, strict=True):
        alone = explainer.explain(text, "integrated_gradients", target="positive", n_steps=6)
        assert e.features == alone.features and e.target == alone.target == 1
        np.testing.assert_allclose(e.values, alone.values, rtol=1e-12, atol=1e-15)
        assert e.instance == text


def test_the_one_call_shortcut(tiny_bert, minilm_tokenizer, explainer):
    e = xplain.explain(tiny_bert, TEXT, "input_x_gradient", tokenizer=minilm_tokenizer,
                       target=0)
    ref = explainer.explain(TEXT, "input_x_gradient", target=0)
    assert e.target == 0 and e.features == ref.features
    np.testing.assert_allclose(e.values, ref.values, rtol=1e-12)
    default = xplain.explain(tiny_bert, TEXT, tokenizer=minilm_tokenizer)
    assert default.method == "integrated_gradients"


def test_noise_parameters_turn_any_gradient_method_into_smoothgrad(explainer):
    smooth_ig = explainer.explain(TEXT, "integrated_gradients", noise_samples=3, n_steps=4)
    wrapped = explainer.explain(TEXT, "smoothgrad", base="integrated_gradients",
                                noise_samples=3, n_steps=4)
    np.testing.assert_array_equal(smooth_ig.values, wrapped.values)
    assert smooth_ig.params == wrapped.params
    assert smooth_ig.params["base"] == "integrated_gradients"
    plain = explainer.explain(TEXT, "integrated_gradients", n_steps=4)
    assert not np.allclose(smooth_ig.values, plain.values)
    ixg = explainer.explain(TEXT, "input_x_gradient", noise_std=0.0, noise_samples=2)
    np.testing.assert_allclose(ixg.values, explainer.explain(TEXT, "input_x_gradient").values,
                               rtol=1e-12, atol=1e-15)


# -- HTML ----------------------------------------------------------------------------------------
def test_html_shows_tokens_label_method_and_parameters(ig, tmp_path):
    from xplain.report.render import display_token

    html = ig._repr_html_()
    assert html == ig.to_html()
    for token in ig.features:
        assert display_token(token).strip() in html
    assert "integrated_gradients" in html
    assert ig.target_label in html and ig.predicted_label in html
    assert "n_steps" in html and "gausslegendre" in html
    assert "completeness_gap" in html
    path = ig.save_html(tmp_path / "e.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert "<script" not in page.lower()
    assert "http" not in page.lower()  # self-contained: no external URLs at all
    for token in ig.features:
        assert display_token(token).strip() in page


def test_html_escapes_text_and_labels(tiny_bert, minilm_tokenizer, tmp_path):
    model = copy.deepcopy(tiny_bert)
    model.config.id2label = {0: "<img src=x onerror=alert(1)>", 1: "<b>bold</b>"}
    ex = xplain.Explainer(model, tokenizer=minilm_tokenizer, merge_subwords=True)
    text = "nice <script>alert(1)</script> film"
    explanations = [ex.explain(text, "saliency", target=target) for target in (0, 1)]
    assert {"<", "script", ">", "/"} <= set(explanations[0].features)
    # a word holding the whole tag, as a whitespace-splitting tokenizer would produce
    whole = dataclasses.replace(
        explanations[0], features=["[CLS]", "nice", "<script>alert(1)</script>", "film", "[SEP]"],
        values=np.arange(5.0), special=np.array([True, False, False, False, True]),
    )
    for e in [*explanations, whole]:
        for html in (e.to_html(), e.save_html(tmp_path / "x.html").read_text("utf-8")):
            lowered = html.lower()
            assert "<script" not in lowered and "<img" not in lowered
            assert "<b>bold" not in html and "onerror=alert(1)>" not in html
            assert "&lt;img src=x onerror=alert(1)&gt;" in html  # a predicted or target label
    assert "&lt;b&gt;bold&lt;/b&gt;" in explanations[1].to_html()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in whole.to_html()


@pytest.mark.parametrize("k", [0, -1, True, 2.5, "3"])
def test_top_refuses_a_k_that_is_not_a_positive_int(k):
    e = xplain.Explanation(
        features=["a", "b"], values=np.array([1.0, -2.0]), target=0, target_label="0",
        prediction=np.array([1.0]), labels=["0"], method="m", params={}, diagnostics={},
        n_model_evals=0, seconds=0.0, modality="tabular", output="raw",
    )
    with pytest.raises(xplain.InvalidParameterError, match="'k' parameter of top"):
        e.top(k)
    assert list(e.top(1)["feature"]) == ["b"]
