"""The public extension API (xplain.extend) and xplain.testing.check_method.

check_method must pass every built-in method on the differentiable and interpretable
views, and fail methods that return zeros or noise, or break the contract (parameters not
validated, defaults shown in the repr, inputs mutated, wrong shapes, broken promises).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

import xplain
from xplain import registry
from xplain.extend import (
    NONE,
    SEED,
    Attribution,
    DifferentiableView,
    GradientMethod,
    InterpretableView,
    Interval,
    Param,
    PerturbationMethod,
    gradients,
)
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.methods.perturbation.lime import Lime
from xplain.methods.perturbation.occlusion import Occlusion
from xplain.registry import get_method, method_names
from xplain.testing import check_method

CHEAP: dict[str, dict[str, Any]] = {"xrai": {"scales": (100.0,)}}
CHECKABLE = [
    name
    for name in method_names()
    if issubclass(get_method(name), GradientMethod) or get_method(name).view is InterpretableView
]


# -- plugin methods that are wrong in one way each --------------------------------------
class ZeroGradient(GradientMethod):
    """Returns zeros (a broken plugin)."""

    name: ClassVar[str] = "zero_gradient"

    def attribute_points(self, view, points, target):  # type: ignore[no-untyped-def]
        return torch.zeros_like(points), {}


class NoiseGradient(GradientMethod):
    """Returns seeded Gaussian noise (a broken plugin)."""

    name: ClassVar[str] = "noise_gradient"
    parameters = {"seed": Param(0, SEED)}

    def attribute_points(self, view, points, target):  # type: ignore[no-untyped-def]
        rng = np.random.default_rng(self.params["seed"])
        return torch.as_tensor(rng.normal(size=tuple(points.shape))).to(points), {}


class ZeroMasks(PerturbationMethod):
    """Returns zeros (a broken plugin)."""

    name: ClassVar[str] = "zero_masks"

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        return Attribution(np.zeros(view.n_features))


class NoiseMasks(PerturbationMethod):
    """Returns seeded uniform noise (a broken plugin)."""

    name: ClassVar[str] = "noise_masks"
    parameters = {"seed": Param(0, SEED)}

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        rng = np.random.default_rng(self.params["seed"])
        return Attribution(rng.uniform(-1, 1, view.n_features))


class LeaveOneOut(PerturbationMethod):
    """f(x) - f(x without i): a correct plugin, the base of the broken ones below."""

    name: ClassVar[str] = "leave_one_out"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {"scale": Param(1.0, Interval(float, 0, None, closed="neither"))}

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        masks = ~np.eye(view.n_features, dtype=bool)
        drops = view.scores[target] - view.evaluate(masks)[:, target]
        return Attribution(self.params["scale"] * drops)


# -- every built-in passes -----------------------------------------------------------------
@pytest.mark.parametrize("name", CHECKABLE)
def test_check_method_passes_every_builtin_method(name: str) -> None:
    report = check_method(get_method(name), CHEAP.get(name))
    assert report["known truth"].startswith(("passed", "skipped")), report
    promise = get_method(name).known_truth
    if promise in ("exact", "gradient"):
        assert report["known truth"] == f"passed: {promise}"


def test_check_method_refuses_what_it_cannot_check() -> None:
    with pytest.raises(xplain.MethodNotApplicableError, match="TreeShap runs on TreeView"):
        check_method(get_method("tree_shap"))
    with pytest.raises(xplain.InvalidParameterError, match="subclass of xplain.extend.Method"):
        check_method(Lime())  # type: ignore[arg-type]


# -- zeros and noise fail ------------------------------------------------------------------
@pytest.mark.parametrize("cls", [ZeroGradient, NoiseGradient, ZeroMasks, NoiseMasks])
def test_check_method_fails_zero_and_random_methods(cls: type) -> None:
    with pytest.raises(xplain.MethodCheckError, match="'known truth' check") as info:
        check_method(cls)
    assert isinstance(info.value, AssertionError) and cls.__name__ in str(info.value)


@pytest.mark.parametrize("cls", [ZeroGradient, ZeroMasks])
def test_check_method_fails_zeros_even_without_a_promise(cls: type) -> None:
    no_promise = _variant(cls, known_truth=None)
    with pytest.raises(xplain.MethodCheckError, match="constant values"):
        check_method(no_promise)


def test_check_method_holds_methods_to_their_promise() -> None:
    assert check_method(LeaveOneOut)["known truth"] == "passed: exact"
    # twice the truth still ranks right, but is not the exact value the class promises
    with pytest.raises(xplain.MethodCheckError, match="known_truth='exact'"):
        check_method(LeaveOneOut, {"scale": 2.0})
    ranked = _variant(LeaveOneOut, known_truth="ranking")
    assert check_method(ranked, {"scale": 2.0})["known truth"].startswith("passed: rank")
    flipped = _variant(LeaveOneOut, attribute=_negated(LeaveOneOut.attribute))
    with pytest.raises(xplain.MethodCheckError, match="'known truth'"):
        check_method(_variant(flipped, known_truth="ranking"))


def _variant(cls: type, **attributes: Any) -> type:
    """A subclass of ``cls`` with ``attributes`` overridden (and a docstring)."""
    return type(f"{cls.__name__}Variant", (cls,), {"__doc__": cls.__doc__, **attributes})


def _negated(attribute: Any) -> Any:
    def negated(self: Any, view: InterpretableView, target: int) -> Attribution:
        return Attribution(-attribute(self, view, target).values)

    return negated


# -- the contract checks name what fails -------------------------------------------------------
def test_check_method_names_each_contract_failure() -> None:
    class Unvalidated(LeaveOneOut):
        """Drops every parameter it is given."""

        def __init__(self, **params: Any) -> None:
            super().__init__()

    class ShowsDefaults(LeaveOneOut):
        """A repr that lists every parameter."""

        def __repr__(self) -> str:
            return f"ShowsDefaults(scale={self.params['scale']!r})"

    class Mutates(LeaveOneOut):
        """Writes into the view."""

        def attribute(self, view: InterpretableView, target: int) -> Attribution:
            view.scores[target] += 1.0
            return super().attribute(view, target)

    class WrongShape(LeaveOneOut):
        """One value too many."""

        def attribute(self, view: InterpretableView, target: int) -> Attribution:
            return Attribution(np.append(super().attribute(view, target).values, 0.0))

    class Unseeded(LeaveOneOut):
        """Adds fresh noise on every call."""

        def attribute(self, view: InterpretableView, target: int) -> Attribution:
            noise = np.random.default_rng().normal(0, 1e-3, view.n_features)
            return Attribution(super().attribute(view, target).values + noise)

    class NotFinite(LeaveOneOut):
        """NaN for the first feature."""

        def attribute(self, view: InterpretableView, target: int) -> Attribution:
            values = super().attribute(view, target).values
            values[0] = np.nan
            return Attribution(values)

    expected = {
        Unvalidated: "unknown parameter",
        ShowsDefaults: "repr",
        Mutates: "not mutated",
        WrongShape: "shape",
        Unseeded: "determinism",
        NotFinite: "finite",
    }
    for cls, check in expected.items():
        with pytest.raises(xplain.MethodCheckError, match=f"{cls.__name__} fails the '{check}'"):
            check_method(cls)


def test_check_method_checks_bad_values_and_declarations() -> None:
    class Unconstrained(LeaveOneOut):
        """Declares a bound it never enforces."""

        def __init__(self, **params: Any) -> None:
            super().__init__(**{k: v for k, v in params.items() if k != "scale"})

    with pytest.raises(xplain.MethodCheckError, match="'bad value'.*scale=0.0 was accepted"):
        check_method(Unconstrained)
    nameless = _variant(LeaveOneOut, name="not an identifier")
    with pytest.raises(xplain.MethodCheckError, match="'declaration'"):
        check_method(nameless)
    undocumented = _variant(LeaveOneOut, __doc__=None)
    with pytest.raises(xplain.MethodCheckError, match="docstring"):
        check_method(undocumented)


# -- repr shows what the user set ----------------------------------------------------------------
def test_repr_shows_only_the_parameters_the_user_set() -> None:
    # IntegratedGradients resolves n_steps and adaptive from their None defaults
    ig = IntegratedGradients()
    assert repr(ig) == "IntegratedGradients()"
    assert ig.params["n_steps"] == 15 and ig.params["adaptive"] is True  # what runs
    assert ig.params["rule"] == "fejer"
    assert repr(IntegratedGradients(n_steps=16)) == "IntegratedGradients(n_steps=16)"
    assert repr(IntegratedGradients(rule="riemann_trapezoid", adaptive=None)) == (
        "IntegratedGradients(rule='riemann_trapezoid')"
    )
    assert repr(Lime(num_samples=100)) == "Lime(num_samples=100)"


# -- one name for model inputs per call ---------------------------------------------------------
def test_one_batch_size_name_across_methods() -> None:
    names = {
        name: [p for p in get_method(name).parameters if "batch" in p] for name in method_names()
    }
    # smoothgrad's noise_batch_size counts noisy copies (each one call of its base method)
    odd = {n: ps for n, ps in names.items() if ps not in ([], ["internal_batch_size"])}
    assert set(odd) <= {"smoothgrad"}, odd


def test_old_batch_size_name_still_works_with_a_deprecation_warning() -> None:
    view = _additive_view()
    with pytest.warns(DeprecationWarning, match="'batch_size' parameter of occlusion"):
        old = Occlusion(batch_size=3)
    assert old.params["internal_batch_size"] == 3 and "batch_size" not in old.params
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = Occlusion(internal_batch_size=3)
    np.testing.assert_array_equal(old.attribute(view, 0).values, new.attribute(view, 0).values)
    bad = pytest.raises(xplain.InvalidParameterError, match="'batch_size' parameter.*Got 0")
    with bad, pytest.warns(DeprecationWarning):
        Occlusion(batch_size=0)  # the error names what the user typed
    both = pytest.raises(xplain.InvalidParameterError, match="two names of one parameter")
    with both, pytest.warns(DeprecationWarning):
        Occlusion(batch_size=2, internal_batch_size=3)


def _additive_view() -> InterpretableView:
    phi = np.array([1.0, -2.0, 0.5, 3.0])
    scores = lambda masks: np.stack([masks @ phi, -(masks @ phi)], 1)  # noqa: E731
    return InterpretableView(
        n_features=4,
        evaluate=scores,
        active=np.arange(4),
        scores=np.array([phi.sum(), -phi.sum()]),
        base_scores=np.zeros(2),
        n_total=4,
    )


# -- the public module -----------------------------------------------------------------------------
def test_extend_exports_the_plugin_api() -> None:
    from xplain import _validation, methods
    from xplain.adapters import base

    assert xplain.extend.Param is _validation.Param and NONE is _validation.NONE
    assert xplain.extend.Method is methods.Method and GradientMethod is methods.GradientMethod
    assert DifferentiableView is base.DifferentiableView and gradients is methods.base.gradients
    assert xplain.extend.register_method is xplain.register_method
    for name in xplain.extend.__all__:
        assert getattr(xplain.extend, name) is not None


def test_the_docstring_plugin_runs_and_passes_check_method(monkeypatch: Any) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # keep it local
    doc = xplain.extend.__doc__
    assert doc is not None
    code = textwrap.dedent(doc.split("A complete plugin::\n")[1].split("\nThen ")[0])
    assert len([line for line in code.splitlines() if line.strip()]) <= 25
    namespace: dict[str, Any] = {}
    exec(compile(code, "xplain.extend docstring", "exec"), namespace)
    plugin = registry.get_method("gradient_times_delta")
    assert plugin is namespace["GradientTimesDelta"]
    assert check_method(plugin)["known truth"] == "passed: exact"


def test_testing_and_extend_load_lazily() -> None:
    code = (
        "import sys, xplain; "
        "assert 'xplain.testing' not in sys.modules and 'xplain.extend' not in sys.modules; "
        "assert callable(xplain.testing.check_method) and xplain.extend.Param"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
