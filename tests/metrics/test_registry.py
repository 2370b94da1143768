"""The metric metadata a program can read."""

from __future__ import annotations

import inspect

import pytest

from xplain import metrics
from xplain.errors import InvalidParameterError


def test_every_metric_declares_direction_requirements_and_citation():
    needs = {"explainer", "torch_module", "explanations", "refittable_model", "table",
             "rationale", "ground_truth"}
    for name, info in metrics.METRICS.items():
        assert info.name == name
        assert info.higher_is_better in (True, False, None)
        assert info.requires <= needs and info.requires  # what it needs, never a modality
        assert info.returns in ("scalar", "frame", "dict")
        assert "20" in info.citation  # a year
        assert callable(info.function)
    assert metrics.METRICS["deletion_auc"].higher_is_better is False
    assert metrics.METRICS["insertion_auc"].higher_is_better is True
    assert metrics.METRICS["deletion_auc"].curve is metrics.deletion_curve


def test_scalar_metrics_take_explainer_and_explanation_then_keywords_only():
    for name in metrics.DEFAULT_METRICS:
        info = metrics.get_metric(name)
        assert info.returns == "scalar"
        parameters = list(inspect.signature(info.function).parameters.values())
        assert [p.name for p in parameters[:2]] == ["explainer", "explanation"]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters[2:])


def test_available_metrics_and_unknown_names():
    table = metrics.available_metrics()
    assert list(table.columns) == [
        "name", "category", "higher_is_better", "requires", "returns", "citation",
    ]
    assert len(table) == len(metrics.METRICS)
    with pytest.raises(InvalidParameterError, match="Did you mean 'deletion_auc'"):
        metrics.get_metric("deletion_uac")
    with pytest.raises(TypeError):
        metrics.METRICS["mine"] = metrics.METRICS["deletion_auc"]  # read-only
