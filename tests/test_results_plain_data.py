"""Issue 11, part 6: results are plain data.

A Comparison holds explanations (and the explainer, for an explicit ``evaluate`` only) and
never calls private Explainer methods; displaying or saving a result makes no model call;
Explanation arrays are read-only; ``from_dict(to_dict())``, also through JSON, gives back an
equal Explanation (and Comparison) for text, tabular and image explanations.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

import xplain
import xplain.comparison
from xplain import metrics
from xplain.comparison import Comparison
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.explanation import Explanation

TEXT = "a gripping , funny film"
SIDE = 8


@pytest.fixture(scope="module")
def text_explainer(tiny_bert, minilm_tokenizer) -> xplain.Explainer:
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@pytest.fixture(scope="module")
def tabular_explainer() -> xplain.Explainer:
    rng = np.random.default_rng(0)
    data = pd.DataFrame({
        "age": rng.integers(18, 70, 120),
        "income": rng.normal(50.0, 10.0, 120),
        "job": rng.choice(["clerk", "chef", "pilot"], 120),
    })
    codes = data["job"].map({"clerk": 0.0, "chef": 1.0, "pilot": 2.0})
    features = np.column_stack([data["age"], data["income"], codes])
    labels = (features @ [0.05, -0.04, 0.8] + rng.normal(0, 0.5, 120) > 1.0).astype(int)
    model = LogisticRegression().fit(features, labels)

    def predict(frame: pd.DataFrame) -> np.ndarray:
        codes = frame["job"].astype(str).map({"clerk": 0.0, "chef": 1.0, "pilot": 2.0})
        return model.predict_proba(np.column_stack([frame["age"], frame["income"], codes]))

    return xplain.Explainer(predict, data=data)


@pytest.fixture(scope="module")
def image_explainer() -> xplain.Explainer:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(16, 3),
        )
    return xplain.Explainer(model.double().eval(), modality="image")


def image() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (SIDE, SIDE, 3)).astype(np.uint8)


CASES = {  # modality -> (explainer fixture, instance, methods compared)
    "text": ("text_explainer", lambda: TEXT, ["saliency", "integrated_gradients"]),
    "tabular": ("tabular_explainer", lambda: {"age": 40, "income": 52.5, "job": "chef"},
                ["occlusion", "kernel_shap"]),
    "image": ("image_explainer", image, ["saliency", "occlusion"]),
}


def case(request, modality: str) -> tuple[xplain.Explainer, object, list[str]]:
    fixture, instance, methods = CASES[modality]
    return request.getfixturevalue(fixture), instance(), methods


def metrics_table(html: str) -> str | None:
    found = re.search(r'<table class="metrics">.*?</table>', html, re.S)
    return None if found is None else found.group(0)


# -- a Comparison is data; displaying it calls no model ---------------------------------------
@pytest.mark.parametrize("modality", list(CASES))
def test_compare_then_repr_html_and_save_html_make_zero_model_calls(request, modality,
                                                                    tmp_path):
    explainer, instance, methods = case(request, modality)
    c = explainer.compare(instance, methods=methods)
    rows = explainer.adapter.n_model_evals
    html = c._repr_html_()
    saved = c.save_html(tmp_path / "c.html").read_text("utf-8")
    for e in c.explanations.values():
        e._repr_html_()
        e.save_html(tmp_path / "e.html")
    assert explainer.adapter.n_model_evals == rows  # +0 model rows
    assert metrics_table(html) is None and metrics_table(saved) is None
    assert "Metrics not computed" in html

    frame = c.evaluate()  # the explicit call runs the model ...
    assert explainer.adapter.n_model_evals > rows
    rows = explainer.adapter.n_model_evals
    html = c._repr_html_()  # ... and the display shows what it returned, for free
    saved = c.save_html(tmp_path / "c.html").read_text("utf-8")
    assert explainer.adapter.n_model_evals == rows
    table = metrics_table(html)
    assert table is not None and table == metrics_table(saved)
    assert table.count("<tr>") == len(frame) + 1 and "deletion_auc" in table
    pd.testing.assert_frame_equal(c.evaluation, frame)


def test_save_html_evaluate_true_runs_the_metrics(text_explainer, tmp_path):
    c = text_explainer.compare(TEXT, methods=["saliency", "input_x_gradient"])
    rows = text_explainer.adapter.n_model_evals
    saved = c.save_html(tmp_path / "c.html", evaluate=True).read_text("utf-8")
    assert text_explainer.adapter.n_model_evals > rows
    assert metrics_table(saved) is not None and c.evaluation is not None


def test_comparison_calls_no_private_explainer_method():
    tree = ast.parse(inspect.getsource(xplain.comparison))
    private = sorted({  # explainer._build, explainer._prepare, ...
        node.attr for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id == "explainer" and node.attr.startswith("_")
    })
    assert private == []


# -- Explanation arrays are read-only ----------------------------------------------------------
def test_explanation_arrays_are_read_only_copies(image_explainer):
    e = image_explainer.explain(image(), "saliency")
    for name in ("values", "prediction", "special", "instance"):
        array = getattr(e, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    values = np.array([0.5, -0.25])
    made = dataclasses.replace(e, features=["a", "b"], values=values, special=np.zeros(2, bool))
    values[0] = 99.0  # the caller's array is not the explanation's
    assert made.values[0] == 0.5 and made.values.flags.writeable is False
    assert e.values is not made.values


# -- from_dict(to_dict()) ----------------------------------------------------------------------
@pytest.mark.parametrize("modality", list(CASES))
def test_from_dict_of_to_dict_and_its_json_round_trip_are_equal(request, modality):
    explainer, instance, methods = case(request, modality)
    e = explainer.explain(instance, methods[1])
    for data in (e.to_dict(), json.loads(json.dumps(e.to_dict(), allow_nan=False))):
        restored = Explanation.from_dict(data)
        assert restored == e and restored is not e
        assert restored.to_dict() == e.to_dict()
        np.testing.assert_array_equal(restored.values, e.values)
        assert restored.features == e.features and restored.image_shape == e.image_shape
        assert restored.instance_id == e.instance_id and restored.model_id == e.model_id
        assert not restored.values.flags.writeable
    restored = Explanation.from_dict(json.loads(json.dumps(e.to_dict())))
    assert restored.to_html() == e.to_html()  # renders (an image with its pixels)
    # the restored instance is the one explained: metrics run on it, with the same result
    assert metrics.deletion_auc(explainer, restored) == metrics.deletion_auc(explainer, e)


def test_equality_compares_content(text_explainer):
    e = text_explainer.explain(TEXT, "saliency")
    assert e == dataclasses.replace(e, values=e.values.copy())
    changed = e.values.copy()
    changed[1] += 1e-9
    assert e != dataclasses.replace(e, values=changed)
    assert e != dataclasses.replace(e, diagnostics={**e.diagnostics, "extra": 1})
    assert e != dataclasses.replace(e, instance=TEXT + " !")
    # NaN diagnostics are None in to_dict (strict JSON) and compare as such
    nan = dataclasses.replace(e, diagnostics={**e.diagnostics, "gap": float("nan")})
    assert Explanation.from_dict(nan.to_dict()) == nan


def test_a_dict_without_its_instance_renders_but_metrics_refuse_it(image_explainer):
    e = image_explainer.explain(image(), "saliency")
    data = {k: v for k, v in e.to_dict().items() if k != "instance"}
    restored = Explanation.from_dict(data)
    assert restored.instance is None and restored != e
    # no pixels to draw: the heat map alone, over white
    assert restored.image_shape == e.image_shape and "data:image/png" in restored.to_html()
    with pytest.raises(InvalidParameterError, match="does not carry its instance.*from_dict"):
        metrics.deletion_auc(image_explainer, restored)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("values"), r"missing 'values'"),
        (lambda d: d.update(valuez=1), r"unknown 'valuez'"),
        (lambda d: d.update(values=d["values"][:-1]), r"\d+ finite numbers in 'values'"),
        (lambda d: d.update(values=[None] * len(d["values"])), r"finite numbers in 'values'"),
        (lambda d: d.update(target=7), r"target=7 for 2 predicted classes"),
        (lambda d: d.update(target="two"), r"wrong type"),
        (lambda d: d.update(features=None), r"wrong type"),
        (lambda d: d.update(instance=[1, 2]), r"cannot read the 'instance'"),
        (lambda d: d.update(special=[True]), r"'special' flags"),
    ],
)
def test_from_dict_refuses_a_dict_that_is_no_explanation(text_explainer, edit, message):
    data = json.loads(json.dumps(text_explainer.explain(TEXT, "saliency").to_dict()))
    edit(data)
    with pytest.raises(InvalidInputError, match=message):
        Explanation.from_dict(data)


def test_comparison_round_trips_with_its_evaluation(tabular_explainer):
    c = tabular_explainer.compare({"age": 40, "income": 52.5, "job": "chef"},
                                  methods=["occlusion", "kernel_shap"],
                                  metrics=["deletion_auc", "completeness_gap"])
    restored = Comparison.from_dict(json.loads(json.dumps(c.to_dict(), allow_nan=False)))
    assert restored.explainer is None and restored.metrics == c.metrics
    assert restored.explanations == c.explanations
    pd.testing.assert_frame_equal(restored.evaluation, c.evaluation)
    assert restored.evaluation.attrs == c.evaluation.attrs
    assert metrics_table(restored.to_html()) == metrics_table(c.to_html())
    with pytest.raises(InvalidParameterError, match=r"evaluate\(explainer=\.\.\.\)"):
        restored.evaluate()
    again = restored.evaluate(explainer=tabular_explainer)
    pd.testing.assert_frame_equal(again[["deletion_auc", "completeness_gap"]],
                                  c.evaluation[["deletion_auc", "completeness_gap"]])


def test_save_html_into_a_missing_folder_is_a_clear_error(tmp_path):
    e = Explanation(
        features=["a"], values=np.array([1.0]), target=0, target_label="0",
        prediction=np.array([1.0]), labels=["0"], method="m", params={}, diagnostics={},
        n_model_evals=0, seconds=0.0, modality="tabular", output="raw",
    )
    with pytest.raises(InvalidParameterError, match="does not exist"):
        e.save_html(tmp_path / "missing" / "r.html")
    (tmp_path / "r.html").mkdir()  # a folder where the file should go
    with pytest.raises(InvalidParameterError, match="Cannot save the report"):
        e.save_html(tmp_path / "r.html")


def test_save_html_evaluate_must_be_a_bool():
    e = Explanation(
        features=["a"], values=np.array([1.0]), target=0, target_label="0",
        prediction=np.array([1.0]), labels=["0"], method="m", params={}, diagnostics={},
        n_model_evals=0, seconds=0.0, modality="tabular", output="raw",
    )
    comparison = Comparison(None, {"m": e}, [])
    with pytest.raises(InvalidParameterError, match="'evaluate' parameter"):
        comparison.to_html(evaluate="yes")
