"""Explainer.compare on text: shared target and costs, agreement, evaluate, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xplain
from xplain import metrics
from xplain.errors import InvalidParameterError, InvalidTargetError, UnknownMethodError
from xplain.registry import method_names

TEXT = "a gripping , funny and heartfelt film ."
GRADIENT = ["saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"]
PERTURBATION_PARAMS = {"lime": {"num_samples": 200}, "kernel_shap": {"max_evals": 200}}


@pytest.fixture(scope="module")
def explainer(small_text_explainer):
    """A tiny random BERT with the real MiniLM tokenizer (offline)."""
    return small_text_explainer


@pytest.fixture(scope="module")
def methods():
    registered = set(method_names())
    return GRADIENT + [m for m in ("occlusion", "lime", "kernel_shap") if m in registered]


@pytest.fixture(scope="module")
def comparison(explainer, methods):
    params = {m: p for m, p in PERTURBATION_PARAMS.items() if m in methods}
    return explainer.compare(TEXT, methods=methods, params=params)


def test_every_method_explains_the_same_target_as_explain_would(explainer, comparison, methods):
    assert isinstance(comparison, xplain.Comparison)
    assert comparison.methods == methods
    predicted = int(np.argmax(comparison.prediction))
    for name, explanation in comparison.explanations.items():
        assert explanation.method == name
        assert explanation.target == predicted
        alone = explainer.explain(TEXT, name, **PERTURBATION_PARAMS.get(name, {}))
        np.testing.assert_allclose(explanation.values, alone.values, rtol=1e-6, atol=1e-7)
        assert explanation.n_model_evals == alone.n_model_evals  # shared prediction counted
    frame = comparison.to_frame()
    assert list(frame.columns) == ["feature", "special", *methods]
    assert frame["special"].tolist()[0] and frame["special"].tolist()[-1]  # [CLS], [SEP]


def test_the_target_is_resolved_once_for_all(explainer):
    other = explainer.compare(TEXT, methods=["saliency", "integrated_gradients"], target="LABEL_0")
    assert {e.target for e in other.explanations.values()} == {0}
    assert other.target_label == "LABEL_0"
    with pytest.raises(InvalidTargetError):
        explainer.compare(TEXT, methods=["saliency"], target=5)


def test_agreement_has_one_row_per_pair(comparison, methods):
    frame = comparison.agreement(k=3)
    n = len(methods)
    assert len(frame) == n * (n - 1) // 2
    assert frame[["spearman", "kendall"]].abs().max().max() <= 1 + 1e-12
    assert frame["top_k_jaccard"].between(0, 1).all()


def test_evaluate_gives_one_row_per_method_with_the_documented_columns(comparison, methods):
    frame = comparison.evaluate()
    assert list(frame.index) == methods
    assert list(frame.columns) == [*metrics.DEFAULT_METRICS, "seconds", "n_model_evals"]
    assert frame.attrs["higher_is_better"]["deletion_auc"] is False
    gradient_only = frame.drop(columns="completeness_gap")
    assert np.isfinite(gradient_only.to_numpy(dtype=float)).all()
    assert frame.loc["integrated_gradients", "completeness_gap"] < 0.5
    assert np.isnan(frame.loc["saliency", "completeness_gap"])
    np.testing.assert_array_equal(
        frame["n_model_evals"], [comparison.explanations[m].n_model_evals for m in methods]
    )
    again = comparison.evaluate()  # cached
    assert again.equals(frame)


def test_evaluate_per_k_and_metric_parameters(comparison):
    frame = comparison.evaluate(
        ["comprehensiveness", "max_sensitivity"],
        params={"max_sensitivity": {"n_samples": 2}},
        per_k=True,
    )
    assert list(frame.columns)[:6] == [
        "comprehensiveness",
        "comprehensiveness@1%",
        "comprehensiveness@5%",
        "comprehensiveness@10%",
        "comprehensiveness@20%",
        "comprehensiveness@50%",
    ]
    per_k = frame.filter(like="comprehensiveness@").to_numpy()
    np.testing.assert_allclose(frame["comprehensiveness"], per_k.mean(1))
    assert (frame["max_sensitivity"] >= 0).all()


def test_text_curves_run_from_the_input_to_everything_masked(explainer, comparison):
    explanation = comparison.explanations["integrated_gradients"]
    curve = metrics.deletion_curve(explainer, explanation)
    tokenizer = explainer.adapter.tokenizer
    encoded = tokenizer(TEXT, return_tensors="pt")
    masked = encoded["input_ids"].clone()
    masked[0, 1:-1] = tokenizer.mask_token_id  # every word hidden, [CLS] and [SEP] kept
    with torch.no_grad():
        full = explainer.model(**encoded).logits[0, explanation.target].item()
        empty = explainer.model(masked, attention_mask=encoded["attention_mask"]).logits
    assert len(curve) == int((~explanation.special).sum()) + 1
    assert curve.iloc[0] == pytest.approx(full, abs=1e-5)
    assert curve.iloc[-1] == pytest.approx(empty[0, explanation.target].item(), abs=1e-5)
    whole = metrics.comprehensiveness_curve(explainer, explanation, fractions=(1.0,))
    assert whole.iloc[0] == pytest.approx(curve.iloc[0] - curve.iloc[-1], abs=1e-5)  # float32


def test_compare_with_metrics_evaluates_them_up_front(explainer):
    comparison = explainer.compare(TEXT, methods=["saliency"], metrics=["deletion_auc"])
    assert comparison.metrics == ("deletion_auc",)
    assert list(comparison.evaluate().columns) == ["deletion_auc", "seconds", "n_model_evals"]


def test_sanity_check_on_text_leaves_the_model_alone(explainer, comparison):
    before = {k: v.clone() for k, v in explainer.model.state_dict().items()}
    frame = metrics.model_parameter_randomisation(
        explainer, comparison.explanations["saliency"]
    )
    assert list(frame["layer"]) == [
        "classifier", "bert.pooler", "bert.encoder.layer.0", "bert.embeddings",
    ]
    assert frame["spearman"].between(-1, 1).all()
    for key, value in explainer.model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_bad_requests_fail_before_anything_runs(explainer):
    evals = explainer.adapter.n_model_evals
    with pytest.raises(UnknownMethodError, match="Did you mean 'saliency'"):
        explainer.compare(TEXT, methods=["saliency", "salency"])
    with pytest.raises(InvalidParameterError, match="'n_steps' parameter of integrated"):
        explainer.compare(
            TEXT, methods=["integrated_gradients"], params={"integrated_gradients": {"n_steps": 0}}
        )
    with pytest.raises(InvalidParameterError, match="not among the methods compared"):
        explainer.compare(TEXT, methods=["saliency"], params={"lime": {"num_samples": 10}})
    with pytest.raises(InvalidParameterError, match="each once"):
        explainer.compare(TEXT, methods=["saliency", "saliency"])
    with pytest.raises(InvalidParameterError, match="list of method names"):
        explainer.compare(TEXT, methods="saliency")
    with pytest.raises(InvalidParameterError, match="returns a frame"):
        explainer.compare(TEXT, methods=["saliency"], metrics=["model_parameter_randomisation"])
    assert explainer.adapter.n_model_evals == evals


def test_bad_metric_parameters_are_refused(comparison):
    with pytest.raises(InvalidParameterError, match="Did you mean 'n_steps'"):
        comparison.evaluate(["deletion_auc"], params={"deletion_auc": {"n_step": 3}})
    with pytest.raises(InvalidParameterError, match="not evaluated"):
        comparison.evaluate(["deletion_auc"], params={"infidelity": {}})


def test_progress_names_each_method_and_reports_its_cost(explainer, capsys):
    quiet = explainer.compare(TEXT, methods=["saliency", "occlusion"])
    assert capsys.readouterr().err == ""  # no bar unless asked
    shown = explainer.compare(TEXT, methods=["saliency", "occlusion"], progress=True)
    err = capsys.readouterr().err
    assert "explaining: saliency" in err and "explaining: occlusion" in err
    lines = [line for line in err.splitlines() if " model evaluations" in line]
    assert [line.split(":")[0] for line in lines] == ["saliency", "occlusion"]
    for line, name in zip(lines, ["saliency", "occlusion"], strict=True):
        e = shown.explanations[name]
        assert line == f"{name}: {e.seconds:.1f} s, {e.n_model_evals} model evaluations"
    for name in ("saliency", "occlusion"):  # the bar changes nothing else
        np.testing.assert_array_equal(shown.explanations[name].values,
                                      quiet.explanations[name].values)
