"""The method registry: names, metadata, lookup errors and plugins.

(Named test_method_registry.py: tests/metrics/test_registry.py already owns the module name
``test_registry`` and pytest's default import mode cannot hold two of them.)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

import xplain
from xplain import registry
from xplain._validation import Param
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError, UnknownMethodError
from xplain.methods.base import GradientMethod, Method, gradients
from xplain.registry import available_methods, get_method, method_names, register_method

CONTRACT = ["saliency", "input_x_gradient", "smoothgrad", "integrated_gradients", "deeplift",
            "deepshap", "gradient_shap", "grad_cam", "guided_grad_cam", "guided_backprop",
            "xrai", "lime", "kernel_shap", "tree_shap", "occlusion", "exact_shapley"]
TEXT_GRADIENT = ["saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"]


def test_every_contract_name_is_registered_with_readable_metadata():
    frame = available_methods()
    assert list(frame.columns) == ["name", "family", "modalities", "needs", "reference"]
    assert set(CONTRACT) <= set(frame["name"])
    assert list(frame["name"]) == sorted(frame["name"]) == method_names()
    for row in frame.itertuples():
        cls = get_method(row.name)
        assert cls.name == row.name and issubclass(cls, Method)
        assert row.family in ("gradient", "perturbation")
        assert re.search(r"(19|20)\d\d", row.reference), row.reference  # a citation with a year
        assert set(row.modalities.split(", ")) <= {"text", "tabular", "image"}


@pytest.mark.parametrize("name", TEXT_GRADIENT)
def test_text_gradient_methods(name):
    cls = get_method(name)
    assert issubclass(cls, GradientMethod)
    assert cls.family == "gradient" and cls.view is DifferentiableView
    row = xplain.available_methods().set_index("name").loc[name]
    assert "text" in row.modalities.split(", ") and row.needs == "gradients"
    assert "arXiv:" in cls.reference
    assert cls.__doc__ and re.search(r"(19|20)\d\d", cls.__doc__)  # the docstring cites it
    for param in cls.parameters.values():  # every default satisfies its own constraints
        assert param.default is None or param.accepts(param.default)
    assert isinstance(cls(), cls)


def test_repr_shows_only_non_default_parameters():
    assert repr(get_method("saliency")()) == "Saliency()"
    assert repr(get_method("saliency")(absolute=False)) == "Saliency(absolute=False)"
    # adaptive=False is resolved from n_steps, not set by the user: not shown
    assert repr(get_method("integrated_gradients")(n_steps=8)) == (
        "IntegratedGradients(n_steps=8)"
    )


def test_unknown_names():
    with pytest.raises(UnknownMethodError, match="Did you mean 'smoothgrad'") as info:
        get_method("smooth_grad")
    assert isinstance(info.value, ValueError)
    assert "Available methods: deeplift" in str(info.value)
    with pytest.raises(UnknownMethodError, match="Unknown method 3"):
        get_method(3)


class TwiceGradient(GradientMethod):
    """Twice the gradient (a plugin for the tests; Nobody 2024)."""

    name: ClassVar[str] = "twice_gradient"
    reference: ClassVar[str] = "Nobody 2024"
    parameters: ClassVar[dict[str, Param]] = {}

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        return 2 * gradients(view, points, target), {"plugin": True}


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_a_registered_plugin_runs_end_to_end_and_takes_noise(
    clean_registry, tiny_bert, minilm_tokenizer
):
    assert register_method(TwiceGradient) is TwiceGradient
    assert register_method(TwiceGradient) is TwiceGradient  # idempotent for the same class
    assert "twice_gradient" in set(available_methods()["name"])
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    assert "twice_gradient" in ex.applicable_methods()
    text = "a gripping film"
    e = ex.explain(text, "twice_gradient", target=1)
    plain = ex.explain(text, "saliency", target=1, absolute=False)
    np.testing.assert_allclose(e.values, 2 * plain.values, rtol=1e-12, atol=1e-15)
    assert e.diagnostics == {"plugin": True} and e.method == "twice_gradient"
    noisy = ex.explain(text, "twice_gradient", target=1, noise_samples=2)
    assert noisy.params["base"] == "twice_gradient"


def test_register_method_rejects_bad_classes(clean_registry):
    with pytest.raises(InvalidParameterError, match="subclass of xplain.methods.Method"):
        register_method(object)

    class NoName(TwiceGradient):
        name = "not an identifier"

    with pytest.raises(InvalidParameterError, match="identifier"):
        register_method(NoName)

    class Clash(TwiceGradient):
        name = "saliency"

    with pytest.raises(InvalidParameterError, match="'saliency' is already registered"):
        register_method(Clash)
    assert get_method("saliency").__name__ == "Saliency"
