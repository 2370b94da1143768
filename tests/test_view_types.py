"""Views are types: methods declare one, adapters offer some, applicability is issubclass.

A method whose view type no adapter offers is simply not applicable, with a reason, in
``applicable_methods()``, ``explain`` and ``xplain methods``; legacy view names still work.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import cli, registry
from xplain.errors import MethodNotApplicableError
from xplain.extend import Attribution, Method, PerturbationMethod, register_method
from xplain.views import (
    DifferentiableView,
    InterpretableView,
    SpatialDifferentiableView,
    TreeView,
    View,
)

FRAME = pd.DataFrame(
    np.random.default_rng(0).normal(size=(120, 3)), columns=["a", "b", "c"]
)


class GraphView(View):
    """A view type of a plugin that no built-in adapter offers."""


class NodeScores(Method):
    """A plugin method on graphs (no paper)."""

    name: ClassVar[str] = "node_scores"
    family: ClassVar[str] = "perturbation"
    view: ClassVar[Any] = GraphView

    def attribute(self, view: Any, target: int) -> Attribution:
        raise AssertionError("never run: no adapter offers a GraphView")


class NamedView(NodeScores):
    """A plugin method declaring a view by a name xplain does not know."""

    name: ClassVar[str] = "named_view"
    view: ClassVar[Any] = "graph"


class LegacyOcclusion(PerturbationMethod):
    """Occlusion by one feature, declared with the legacy view name."""

    name: ClassVar[str] = "legacy_occlusion"
    view: ClassVar[Any] = "interpretable"

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        full = np.asarray(view.scores)[target]
        hidden = ~np.eye(view.n_features, dtype=bool)
        return Attribution(full - np.asarray(view.evaluate(hidden))[:, target])


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    for cls in (NodeScores, NamedView, LegacyOcclusion):
        register_method(cls)


@pytest.fixture(scope="module")
def table():
    target = (FRAME["a"] - FRAME["b"] > 0).astype(int)
    return xplain.Explainer(LogisticRegression().fit(FRAME, target), data=FRAME)


def test_a_view_type_no_adapter_offers_is_not_applicable(plugins, table):
    applicable = table.applicable_methods()  # no AttributeError
    assert "node_scores" not in applicable and "named_view" not in applicable
    assert "kernel_shap" in applicable and "legacy_occlusion" in applicable
    with pytest.raises(MethodNotApplicableError, match=r"GraphView view, which TabularAdapter"):
        table.explain(FRAME.iloc[0], "node_scores")
    with pytest.raises(MethodNotApplicableError, match=r"'graph' view.*offers: InterpretableView"):
        table.explain(FRAME.iloc[0], "named_view")
    listing = xplain.available_methods().set_index("name")
    assert listing.loc["node_scores", "needs"] == "a GraphView view"
    assert listing.loc["node_scores", "modalities"] == ""


def test_xplain_methods_lists_a_plugin_of_an_unknown_view(plugins):
    result = CliRunner().invoke(cli.cli, ["methods"])
    assert result.exit_code == 0, result.output
    assert "node_scores" in result.output and "named_view" in result.output
    images = CliRunner().invoke(cli.cli, ["methods", "--modality", "image"]).output
    assert "node_scores" not in images and "grad_cam" in images


def test_a_legacy_view_name_still_means_its_type(plugins, table):
    e = table.explain(FRAME.iloc[0], "legacy_occlusion")
    reference = table.explain(FRAME.iloc[0], "occlusion")
    np.testing.assert_allclose(e.values, reference.values, rtol=1e-12)
    assert table.adapter.supports("interpretable") and not table.adapter.supports("tree")


def test_adapters_offer_types_and_build_the_most_specific(small_text_explainer):
    cnn = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    image = xplain.Explainer(cnn, modality="image")
    assert image.adapter.view_types() == (SpatialDifferentiableView, InterpretableView)
    encoded = image.adapter.encode(np.random.default_rng(0).random((8, 8, 3)))
    # a method asking for any differentiable view gets the image's spatial one
    assert type(image.adapter.view(DifferentiableView, encoded, "logits")) is (
        SpatialDifferentiableView
    )
    with pytest.raises(MethodNotApplicableError, match="builds no view of type TreeView"):
        image.adapter.view(TreeView, encoded, "logits")
    text = small_text_explainer
    assert text.adapter.view_types() == (DifferentiableView, InterpretableView)
    assert "grad_cam" in image.applicable_methods()
    assert "grad_cam" not in text.applicable_methods()
    with pytest.raises(MethodNotApplicableError, match=r"gradients of an image"):
        text.explain("a gripping film", "grad_cam")
