"""The method registry: names, metadata, lookup errors and plugins.

(Named test_method_registry.py: tests/metrics/test_registry.py already owns the module name
``test_registry`` and pytest's default import mode cannot hold two of them.)
"""

from __future__ import annotations

import re
import subprocess
import sys
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
    assert list(frame.columns) == ["name", "family", "modalities", "needs", "models", "reference"]
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


# -- the catalog of built-in methods (listing without importing them) -------------------------
def test_every_catalog_entry_matches_its_class():
    from xplain._method_catalog import BUILT_IN_METHODS
    from xplain.views import view_type

    for name, entry in BUILT_IN_METHODS.items():
        cls = get_method(name)
        assert (cls.__module__, cls.__qualname__) == (entry.module, entry.cls), name
        assert cls.name == name and cls.family == entry.family, name
        assert view_type(cls.view) is entry.view, name
        assert cls.reference == entry.reference, name


def test_every_built_in_method_is_in_the_catalog():
    import xplain.methods  # noqa: F401  (imports and registers every built-in method)
    from xplain._method_catalog import BUILT_IN_METHODS

    built_in = {n for n, c in registry._REGISTRY.items() if c.__module__.startswith("xplain.")}
    assert built_in == set(BUILT_IN_METHODS)


def test_listing_imports_no_method_and_lookup_imports_only_what_it_needs():
    code = (
        "import sys, xplain\n"
        "rows = xplain.available_methods()\n"
        "print(len(rows), 'torch' in sys.modules,"
        " sorted(m for m in sys.modules if m.startswith('xplain.methods')))\n"
        "xplain.registry.get_method('lime')\n"
        "print('xplain.methods.perturbation.lime' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == [f"{len(available_methods())} False []", "True"]


def test_a_plugin_cannot_take_a_built_in_name_not_yet_imported(clean_registry):
    registry._REGISTRY.pop("lime")  # as in a process that has not imported lime yet

    class Clash(TwiceGradient):
        name = "lime"

    with pytest.raises(InvalidParameterError, match=r"\(xplain.methods.perturbation.lime.Lime\)"):
        register_method(Clash)


def test_check_method_name_knows_built_ins_without_importing_them(clean_registry):
    registry._REGISTRY.pop("occlusion")
    assert registry.check_method_name("occlusion") == "occlusion"
    assert "occlusion" not in registry._REGISTRY
    with pytest.raises(UnknownMethodError, match="Did you mean 'occlusion'"):
        registry.check_method_name("oclusion")
    assert get_method("occlusion").__name__ == "Occlusion"  # imported (registered) again


def test_entry_point_plugins_are_listed_and_resolved(clean_registry, monkeypatch):
    class Entry:
        def load(self):
            return TwiceGradient

    groups = []

    def entry_points(group):
        groups.append(group)
        return [Entry()]

    monkeypatch.setattr(registry, "entry_points", entry_points)
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    assert "twice_gradient" in method_names()
    row = available_methods().set_index("name").loc["twice_gradient"]
    assert (row.family, row.needs, row.reference) == ("gradient", "gradients", "Nobody 2024")
    assert row.models == "differentiable (torch) models only"
    assert get_method("twice_gradient") is TwiceGradient
    assert groups == ["xplain.methods"]  # loaded once
