"""Hostile try-out of issue 14's metrics: each test reproduces one finding (a silent
wrong answer or a diagnostic that did not describe what the user sees) and fails without
its fix."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

import xplain
from xplain import metrics
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.internal import layer_conductance


@pytest.fixture(scope="module")
def image_case():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 6 * 6, 3),
    )
    explainer = xplain.Explainer(cnn, modality="image")
    image = np.random.default_rng(0).random((6, 6, 1))
    return explainer, image, explainer.explain(image, "saliency")


def test_h14_localisation_refuses_a_map_of_another_image(image_case):
    # before: pointing_game scored the map against the box of an image it did not explain
    # (0.0, silently), while average_drop refused the same explanation
    explainer, image, explanation = image_case
    swapped = replace(explanation, instance=image[::-1].copy())
    for metric in (metrics.pointing_game, metrics.localisation_iou,
                   metrics.relevance_rank_accuracy):
        with pytest.raises(InvalidInputError, match="instance is not the one it explained"):
            metric(explainer, swapped, box=(1, 1, 4, 4))
    assert metrics.pointing_game(explainer, explanation, box=(0, 0, 6, 6)) == 1.0
    assert metrics.pointing_game(None, swapped, box=(0, 0, 6, 6)) == 1.0  # no explainer: no check


def test_h14_mask_rationale_refuses_another_models_explanation(small_text_explainer,
                                                               minilm_tokenizer):
    # before: a character-span rationale refused an explanation of another model but a 0/1
    # mask rationale scored it (1.0)
    from random_models import random_bert

    explanation = small_text_explainer.explain("the movie was great fun", "occlusion")
    torch.manual_seed(3)
    other = xplain.Explainer(
        random_bert(minilm_tokenizer.vocab_size, initializer_range=0.7), tokenizer=minilm_tokenizer
    )
    assert other.model_id != small_text_explainer.model_id
    mask = [0, 0, 0, 1, 0, 0, 0]
    with pytest.raises(InvalidInputError, match="another model"):
        metrics.token_f1(other, explanation, rationale=mask)
    # the mask path without an explainer still works, and agrees with the span path
    assert metrics.token_f1(None, explanation, rationale=mask) == metrics.token_f1(
        small_text_explainer, explanation, rationale=[(10, 13)]
    )


def test_h14_bypassed_embedding_lookup_is_explained(tiny_bert, minilm_tokenizer):
    # before: "The model's forward pass never called it", though the model does call
    # word_embeddings: xplain feeds it input embeddings
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    with pytest.raises(InvalidParameterError, match="input embeddings.*'embeddings'"):
        layer_conductance(explainer, "good fun", "word_embeddings")
    result = layer_conductance(explainer, "good fun", "embeddings")
    assert abs(result.completeness_gap) < 0.05


def test_h14_ties_at_the_cut_do_not_depend_on_pixel_order():
    """An all-zero (or constant) map scored 0 or 1 by where the object lay (row-major tie
    order); ties at the cut now share the places left: a constant map scores chance."""
    import dataclasses

    from xplain import metrics
    from xplain.display import FeatureDisplay
    from xplain.explanation import Explanation

    flat = Explanation(
        features=[f"p{i}" for i in range(36)], values=np.zeros(36), target=0,
        target_label="a", prediction=np.array([0.6, 0.4]), labels=["a", "b"],
        method="m", params={}, diagnostics={}, n_model_evals=0, seconds=0.0,
        modality="image", output="probability", display=FeatureDisplay("grid", shape=(6, 6)),
    )
    corner, far = (0, 0, 2, 2), (4, 4, 6, 6)  # 4 pixels each, top-left and bottom-right
    for box in (corner, far):
        assert metrics.relevance_rank_accuracy(None, flat, box=box) == pytest.approx(4 / 36)
        # expected overlap 4 * 4/36 of a 4-pixel region with a 4-pixel object
        h = 16 / 36
        assert metrics.localisation_iou(None, flat, box=box) == pytest.approx(h / (8 - h))
    # a map with one clear maximum and ties below it: the maximum counts whole
    values = np.zeros(36)
    values[0] = 1.0
    peaked = dataclasses.replace(flat, values=values)
    assert metrics.relevance_rank_accuracy(None, peaked, box=corner) == pytest.approx(
        (1 + 3 * 3 / 35) / 4
    )


def test_h14_rationale_spans_that_cover_nothing_are_said(tiny_bert, minilm_tokenizer):
    """A span on whitespace (or truncated text) was dropped silently when others survived,
    so recall counted only part of the human rationale without saying so."""
    from xplain import metrics

    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    e = ex.explain("a very good film", "saliency")
    good = [(7, 11)]  # "good"
    import warnings

    with warnings.catch_warnings():  # one span, all of it on a token: no warning
        warnings.simplefilter("error", xplain.XplainWarning)
        metrics.token_f1(ex, e, rationale=good)
    with pytest.warns(xplain.XplainWarning, match="1 of the rationale's 2 spans"):
        metrics.token_f1(ex, e, rationale=[*good, (6, 7)])  # the space before "good"
