"""Average Drop % and Increase in Confidence against a hand computation of Y and O.

Chattopadhay et al. (2018), Grad-CAM++, Sec. 5.1: Average Drop % = ``100 / N sum_i
max(0, Y_i - O_i) / Y_i``, % Increase in Confidence = ``100 / N #{O_i > Y_i}``. The
grad-cam package (1.5.7, ``pytorch_grad_cam.metrics.cam_mult_image``) computes, per image,
``DropInConfidence = max(0, -(O - Y))`` and ``IncreaseInConfidence = float(O - Y > 0)``
with ``O`` the score of ``input * cam`` (with ``ClassifierOutputSoftmaxTarget``, a
probability): our per-image drop is ``100 * DropInConfidence / Y``. (It was compared in a
scratch script; it is not a dependency.)

The model: logits ``[0, z]`` with ``z`` = the sum of pixel (0, 0)'s channels minus the sum
of pixel (1, 1)'s, so ``Y = sigmoid(z)`` for class 1 and every masked score is by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from vector_models import linear_module, vector_explainer

import xplain
from xplain import metrics
from xplain.errors import InvalidParameterError, MethodNotApplicableError

SIZE = 4


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def hand_model() -> torch.nn.Module:
    """Flatten [1, 3, 4, 4] -> logits [0, z], z = sum_c x[c, 0, 0] - sum_c x[c, 1, 1]."""
    linear = torch.nn.Linear(3 * SIZE * SIZE, 2, bias=False).double()
    with torch.no_grad():
        linear.weight.zero_()
        for c in range(3):
            linear.weight[1, c * SIZE * SIZE + 0] = 1.0  # pixel (0, 0)
            linear.weight[1, c * SIZE * SIZE + SIZE + 1] = -1.0  # pixel (1, 1)
    return torch.nn.Sequential(torch.nn.Flatten(), linear)


IMAGE = np.random.default_rng(0).random((SIZE, SIZE, 3))
IMAGE[0, 0] = 0.5  # contributes 1.5 to z
IMAGE[1, 1] = 0.2  # contributes -0.6 to z
Z = 0.9


@pytest.fixture(scope="module")
def case():
    explainer = xplain.Explainer(hand_model(), modality="image")
    explanation = explainer.explain(IMAGE, "saliency", target=1)
    return explainer, explanation


def with_map(explanation: xplain.Explanation, corner: float, centre: float, rest: float):
    """The explanation with map ``rest`` everywhere, ``corner`` at (0, 0), ``centre`` at
    (1, 1)."""
    heat = np.full((SIZE, SIZE), rest)
    heat[0, 0], heat[1, 1] = corner, centre
    return replace(explanation, values=heat.reshape(-1), method="hand")


def test_y_is_the_probability_of_the_target_on_the_image(case):
    explainer, explanation = case
    y, _ = metrics.confidence.confidence_scores(explainer, explanation)
    assert y == pytest.approx(sigmoid(Z), abs=1e-12)
    assert y == pytest.approx(explanation.prediction[1], abs=1e-12)


def test_an_increase_by_hand(case):
    explainer, explanation = case
    e = with_map(explanation, 3.0, 1.0, -1.0)  # min-max: M = 1 at (0,0), 0.5 at (1,1)
    y, o = metrics.confidence.confidence_scores(explainer, e)
    assert o == pytest.approx(sigmoid(1.5 * 1 - 0.6 * 0.5), abs=1e-12)  # z' = 1.2 > 0.9
    assert metrics.average_drop(explainer, e) == 0.0
    assert metrics.increase_in_confidence(explainer, e) == 100.0


def test_a_drop_by_hand(case):
    explainer, explanation = case
    e = with_map(explanation, 0.0, 2.0, -2.0)  # M = 0.5 at (0,0), 1 at (1,1)
    y, o = sigmoid(Z), sigmoid(1.5 * 0.5 - 0.6 * 1)  # z' = 0.15
    assert metrics.average_drop(explainer, e) == pytest.approx(100 * (y - o) / y, abs=1e-10)
    assert metrics.increase_in_confidence(explainer, e) == 0.0


def test_max_normalisation_and_baseline_masking_by_hand(case):
    explainer, explanation = case
    e = with_map(explanation, 3.0, 1.0, -1.0)
    # "max": M = max(E, 0) / 3: 1 at (0,0), 1/3 at (1,1), 0 elsewhere
    _, o = metrics.confidence.confidence_scores(explainer, e, normalisation="max")
    assert o == pytest.approx(sigmoid(1.5 - 0.6 / 3), abs=1e-12)
    # black baseline (the adapter's default): "baseline" masking equals "multiply"
    _, o_base = metrics.confidence.confidence_scores(explainer, e, masking="baseline")
    _, o_mult = metrics.confidence.confidence_scores(explainer, e)
    assert o_base == pytest.approx(o_mult, abs=1e-12)
    # a grey baseline b = 0.5: x M + b (1 - M); (0,0): 0.5, (1,1): 0.2 * .5 + .5 * .5 = .35
    grey = xplain.Explainer(hand_model(), modality="image", baseline="mean", mean=0.5)
    e_grey = replace(grey.explain(IMAGE, "saliency", target=1), values=e.values)
    _, o = metrics.confidence.confidence_scores(grey, e_grey, masking="baseline")
    assert o == pytest.approx(sigmoid(1.5 - 3 * 0.35), abs=1e-12)


def test_over_many_explanations_is_the_mean(case):
    explainer, explanation = case
    es = [with_map(explanation, 3.0, 1.0, -1.0), with_map(explanation, 0.0, 2.0, -2.0)]
    y, o2 = sigmoid(Z), sigmoid(0.15)
    frame = metrics.confidence_frame(explainer, es)
    assert list(frame.columns) == ["method", "Y", "O", "drop", "increase"]
    np.testing.assert_allclose(frame["drop"], [0.0, 100 * (y - o2) / y], atol=1e-10)
    assert frame["increase"].tolist() == [True, False]
    summary = metrics.confidence_summary(explainer, es)
    assert summary["average_drop"] == pytest.approx(50 * (y - o2) / y, abs=1e-10)
    assert summary["increase_in_confidence"] == 50.0 and summary["n"] == 2


def test_constant_map_is_undefined_under_minmax(case):
    explainer, explanation = case
    e = with_map(explanation, 1.0, 1.0, 1.0)
    with pytest.warns(xplain.errors.UndefinedMeasureWarning, match="constant"):
        assert math.isnan(metrics.average_drop(explainer, e))
    # "max" of an all-negative map masks everything: O = the black image's score (z = 0)
    e = with_map(explanation, -1.0, -1.0, -1.0)
    _, o = metrics.confidence.confidence_scores(explainer, e, normalisation="max")
    assert o == pytest.approx(0.5, abs=1e-12)


def test_comparison_evaluate_and_bad_parameters(case):
    explainer, _ = case
    c = explainer.compare(IMAGE, methods=["saliency", "integrated_gradients"], target=1)
    frame = c.evaluate(["average_drop", "increase_in_confidence"])
    for method, e in c.explanations.items():
        assert frame.loc[method, "average_drop"] == pytest.approx(
            metrics.average_drop(explainer, e)
        )
    with pytest.raises(InvalidParameterError, match="'masking' parameter of average_drop"):
        metrics.average_drop(explainer, c.explanations["saliency"], masking="blur")


def test_tables_are_refused_with_the_reason():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    target = (frame["a"] - frame["b"] > 0).astype(int)
    explainer = xplain.Explainer(LogisticRegression().fit(frame, target), data=frame)
    e = explainer.explain(frame.iloc[0], "occlusion")
    with pytest.raises(MethodNotApplicableError, match="multiplying a column by 0"):
        metrics.average_drop(explainer, e)
    c = explainer.compare(frame.iloc[0], methods=["occlusion"])
    assert math.isnan(c.evaluate(["average_drop"]).loc["occlusion", "average_drop"])


def test_text_is_refused_with_the_reason(tiny_bert, minilm_tokenizer):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    e = explainer.explain("a fine film", "saliency")
    with pytest.raises(MethodNotApplicableError, match="scaled token embedding"):
        metrics.increase_in_confidence(explainer, e)


def test_vector_models_have_no_image_view():
    explainer = vector_explainer(linear_module(np.ones(3)))
    e = explainer.explain(np.ones(3), "saliency")
    with pytest.raises(MethodNotApplicableError, match="pixel grid"):
        metrics.confidence_frame(explainer, [e])
