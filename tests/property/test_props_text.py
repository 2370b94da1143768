"""Properties of text explanations over generated strings, options and parameters.

* every call ends in a finite Explanation or a clear XplainError, never a raw exception,
  whatever the string holds (control and zero-width characters, emoji, long runs);
* an accepted text has at least one token that is not a special token;
* with ``aggregation="sum"`` the values shown by IG sum to f(x) - f(baseline) within the
  gap it reports, and the gap of the values shown is the method's;
* the model's train/eval mode is the user's after the call, and a model left in train()
  is still explained deterministically (dropout off inside the call).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from outcomes import assert_trustworthy, outcome

import xplain
from xplain import XplainError

ALPHABET = st.sampled_from(
    [*"ab cdefgz!?.,'", "\u200b", "\u200d", "\x00", "\x07", "\n", "\t", "\u00e9", "\U0001f600"]
)
texts = st.text(ALPHABET, min_size=0, max_size=24) | st.sampled_from(
    ["a gripping film", "not good", "\u200b\u200b", "\x00\x01", " ", "[CLS] [SEP]"]
)
METHODS = {
    "saliency": st.fixed_dictionaries({}, optional={"absolute": st.booleans()}),
    "integrated_gradients": st.fixed_dictionaries(
        {}, optional={"n_steps": st.integers(-1, 24), "rule": st.sampled_from(["riemann_left"])}
    ),
    "lime": st.fixed_dictionaries({"num_samples": st.integers(-1, 60)}),
    "occlusion": st.just({}),
    "kernel_shap": st.fixed_dictionaries({"max_evals": st.integers(0, 80)}),
}


@pytest.fixture(scope="module")
def text_explainers(tiny_bert, minilm_tokenizer):
    """One explainer per aggregation over the tiny random BERT."""
    return {
        rule: xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, aggregation=rule)
        for rule in ("sum", "l2", "mean")
    }


@given(
    text=texts,
    rule=st.sampled_from(["sum", "l2", "mean"]),
    method=st.sampled_from(sorted(METHODS)),
    data=st.data(),
)
def test_text_result_is_finite_or_an_xplain_error(text_explainers, text, rule, method, data):
    params = data.draw(METHODS[method], label="params")
    result = outcome(lambda: text_explainers[rule].explain(text, method=method, **params))
    assert_trustworthy(result)
    if not isinstance(result, XplainError):
        assert (~result.special).any(), "an explained text has a token that is not special"
        assert result.instance == text


@given(text=st.text(st.sampled_from(list("abcdefg hij")), min_size=1, max_size=20))
def test_text_ig_sum_shows_the_difference_within_its_gap(text_explainers, text):
    result = outcome(
        lambda: text_explainers["sum"].explain(text, method="integrated_gradients", n_steps=64)
    )
    if isinstance(result, XplainError):
        return  # e.g. only spaces: refused, as checked above
    diagnostics = result.diagnostics
    delta, base = diagnostics["delta"], diagnostics["base_value"]
    shown = result.values.sum()
    # summed embeddings add up: the gap of the values shown is the method's own gap
    assert diagnostics["completeness_gap_shown"] == pytest.approx(
        diagnostics["completeness_gap"], rel=1e-6, abs=1e-9
    )
    assert "completeness_note" not in diagnostics
    # the documented rule: |sum - delta| / max(|delta|, 1e-3 * scale)
    scale = max(np.abs(result.values).sum(), abs(base + delta), abs(base))
    bound = diagnostics["completeness_gap"] * max(abs(delta), 1e-3 * scale)
    assert abs(shown - delta) <= bound * (1 + 1e-6) + 1e-12


@given(text=st.sampled_from(["a gripping film", "not good at all", "fine"]))
def test_text_model_mode_restored_and_dropout_off(tiny_bert, minilm_tokenizer, text):
    model = copy.deepcopy(tiny_bert)
    model.config.hidden_dropout_prob = 0.5
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    model.train()
    explainer = xplain.Explainer(model, tokenizer=minilm_tokenizer)
    assert model.training, "constructing an Explainer must not change the model's mode"
    first = explainer.explain(text, method="saliency")
    again = explainer.explain(text, method="saliency")
    assert model.training, "the user's train() mode is restored after the call"
    np.testing.assert_array_equal(first.values, again.values)
