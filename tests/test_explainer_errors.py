"""User mistakes on the text spine raise XplainError subclasses that say what to do."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

import xplain
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    InvalidTargetError,
    UnknownMethodError,
    XplainError,
)

TEXT = "a gripping, funny film"


@pytest.fixture(scope="module")
def explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@contextmanager
def raises(error: type[Exception], builtin: type[Exception], *fragments: str):
    """``pytest.raises`` that also checks the builtin base and every message fragment."""
    with pytest.raises(error) as info:
        yield info
    assert isinstance(info.value, XplainError) and isinstance(info.value, builtin)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_or_whitespace_text(explainer, text):
    with raises(InvalidInputError, ValueError, "empty or only whitespace", "non-empty string"):
        explainer.explain(text, "saliency")


@pytest.mark.parametrize("instance", [None, 42, ["a", "list"], b"bytes"])
def test_non_string_instance(explainer, instance):
    with raises(InvalidInputError, ValueError, "expects the instance to be a str",
                type(instance).__name__, "explain_batch"):
        explainer.explain(instance, "saliency")


def test_unknown_method_suggests_the_closest_name(explainer):
    with raises(UnknownMethodError, ValueError, "'integrated_gradient'",
                "Did you mean 'integrated_gradients'?", "saliency"):
        explainer.explain(TEXT, "integrated_gradient")


def test_unknown_target_label_lists_the_labels(explainer):
    with raises(InvalidTargetError, ValueError, "'neutral'", "'negative'", "'positive'"):
        explainer.explain(TEXT, "saliency", target="neutral")
    assert explainer.explain(TEXT, "saliency", target="Positive").target == 1  # case-folded


@pytest.mark.parametrize("target", [2, 99, -1, -2])
def test_target_index_out_of_range(explainer, target):
    with raises(InvalidTargetError, ValueError, f"Target index {target} is out of range",
                "2 classes", "0..1"):
        explainer.explain(TEXT, "saliency", target=target)


@pytest.mark.parametrize("target", [1.0, True, [1]])
def test_target_of_the_wrong_type(explainer, target):
    with raises(InvalidTargetError, ValueError, "int index or a label string"):
        explainer.explain(TEXT, "saliency", target=target)


@pytest.mark.parametrize(
    "method, params, fragments",
    [
        ("integrated_gradients", {"n_steps": 0},
         ["The 'n_steps' parameter of integrated_gradients must be an int >= 1. Got 0."]),
        ("integrated_gradients", {"n_steps": 2.5}, ["'n_steps'", "an int >= 1", "Got 2.5"]),
        ("integrated_gradients", {"rule": "simpson"},
         ["The 'rule' parameter of integrated_gradients must be one of", "'gausslegendre'",
          "'riemann_trapezoid'", "Got 'simpson'."]),
        ("integrated_gradients", {"rule": "riemann_trapezoid", "n_steps": 1},
         ["'n_steps'", ">= 2", "riemann_trapezoid", "Got 1."]),
        ("smoothgrad", {"noise_std": -1},
         ["The 'noise_std' parameter of smoothgrad must be a finite float >= 0. Got -1."]),
        ("integrated_gradients", {"noise_std": -1}, ["'noise_std'", "Got -1."]),
        ("smoothgrad", {"noise_samples": 0}, ["'noise_samples'", "an int >= 1", "Got 0."]),
        ("smoothgrad", {"variant": "mean"}, ["'variant'", "'vargrad'", "Got 'mean'."]),
        ("smoothgrad", {"seed": -3}, ["'seed'", "None, an int >= 0, or a list", "Got -3."]),
        ("kernel_shap", {"seed": [0, -1]}, ["'seed'", "[seed, row_id]", "Got [0, -1]."]),
        ("lime", {"seed": []}, ["'seed'", "a list of ints >= 0", "Got []."]),
        ("saliency", {"absolute": "yes"}, ["'absolute'", "a bool", "Got 'yes'."]),
        ("integrated_gradients", {"n_step": 8},
         ["unexpected parameter 'n_step'", "Did you mean 'n_steps'?", "Allowed parameters"]),
        ("smoothgrad", {"noise_sample": 8},
         ["unexpected parameter 'noise_sample'", "Did you mean 'noise_samples'?"]),
        ("integrated_gradients", {"noise_sample": 8},
         ["unexpected parameter 'noise_sample'", "Did you mean 'noise_samples'?"]),
    ],
)
def test_bad_parameters(explainer, method, params, fragments):
    with raises(InvalidParameterError, ValueError, *fragments):
        explainer.explain(TEXT, method, **params)


def test_bad_parameters_are_rejected_before_any_model_call(explainer):
    before = explainer.adapter.n_model_evals
    with pytest.raises(InvalidParameterError):
        explainer.explain_batch([TEXT, TEXT], "integrated_gradients", n_steps=-1)
    assert explainer.adapter.n_model_evals == before


@pytest.mark.parametrize("params, fragments", [
    ({"aggregation": "max"}, ["'aggregation'", "TextAdapter", "'l2'", "Got 'max'."]),
    ({"baseline": "unk"}, ["'baseline'", "'pad'", "'mask'", "'zero'"]),
    ({"replacement": "blank"}, ["'replacement'", "'remove'"]),
    ({"max_length": 1}, ["'max_length'", "an int >= 2", "Got 1."]),
    ({"merge_subword": True}, ["unexpected parameter 'merge_subword'",
                               "Did you mean 'merge_subwords'?"]),
])
def test_bad_adapter_parameters(tiny_bert, minilm_tokenizer, params, fragments):
    with raises(InvalidParameterError, ValueError, *fragments):
        xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, **params)


def test_explainer_without_tokenizer_or_modality(tiny_bert):
    with raises(InvalidParameterError, ValueError, "Cannot tell which modality",
                "tokenizer=", "modality="):
        xplain.Explainer(tiny_bert)
    with raises(InvalidParameterError, ValueError, "needs its tokenizer",
                "tokenizer=AutoTokenizer.from_pretrained"):
        xplain.Explainer(tiny_bert, modality="text")
    with raises(InvalidParameterError, ValueError, "'modality'", "'text'", "Got 'audio'."):
        xplain.Explainer(tiny_bert, modality="audio")


def test_unknown_output(tiny_bert, minilm_tokenizer):
    with raises(InvalidParameterError, ValueError, "'output'", "'logits'", "'probability'",
                "Got 'margin'."):
        xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, output="margin")
