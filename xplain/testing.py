"""Conformance checks for explanation methods, for plugin authors.

:func:`check_method` is xplain's ``check_estimator``: it runs a method class through the
contract every method keeps (declarations, parameter validation, repr, shapes, seeded
determinism, inputs left alone) and through **known-truth models**, where the right
answer is known in closed form:

* gradient methods run on a :class:`DifferentiableView` of a network that is linear on
  its domain (``Conv2d(1x1) -> ReLU -> global average pool -> Linear``, the ReLU active
  everywhere), ``f(x) = w . x + b``: Integrated Gradients, gradient x input, DeepLIFT and
  DeepSHAP give exactly ``(x - baseline) * w``, saliency ``|w|``, and Grad-CAM's map is the
  per-pixel truth plus a constant;
* perturbation methods run on an :class:`InterpretableView` of an additive game
  ``v(S) = v0 + sum_{i in S} phi_i``, whose Shapley values, and leave-one-out drops, are
  ``phi``.

What a method promises there is its ``known_truth`` class attribute (see
:class:`xplain.extend.Method`). A method returning zeros or noise fails.

>>> from xplain.testing import check_method
>>> check_method(MyMethod)  # raises MethodCheckError naming the failing check
{'declaration': 'passed', ...}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from xplain._validation import Interval, Options, Param
from xplain.errors import (
    InvalidParameterError,
    MethodCheckError,
    MethodNotApplicableError,
    XplainError,
)
from xplain.methods.base import GradientMethod, Method, PerturbationMethod
from xplain.views import (
    DifferentiableView,
    InterpretableView,
    SpatialDifferentiableView,
    runs_on,
    view_name,
)

__all__ = ["MethodCheckError", "check_method"]

PROMISES = ("exact", "gradient", "ranking", None)
MIN_RANK_CORRELATION = 0.8  # Spearman of a "ranking" method's values with the truth
MIN_SIGN_AGREEMENT = 0.8  # share of features whose sign a perturbation method gets right
TARGET = 0  # the explained output of the known-truth models
UNKNOWN_NAME = "not_a_parameter_of_any_method"


@dataclass
class _Case:
    """A known-truth view and the right answers on it, in the method's own shape."""

    view: DifferentiableView | InterpretableView
    attributions: np.ndarray  # the true attributions, in the view's shape
    gradient: np.ndarray | None  # the true gradient (gradient views only)
    describe: str


def check_method(cls: type[Method], params: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Run the conformance and known-truth checks on the method class ``cls``.

    Args:
        cls: A subclass of :class:`~xplain.extend.GradientMethod` or
            :class:`~xplain.extend.PerturbationMethod` (registered or not).
        params: Parameters to construct it with for the runs (e.g. fewer samples, to be
            quick); a declared ``seed`` defaults to 0 here so that runs repeat.

    Returns:
        ``{check name: "passed" or "skipped: why"}``.

    Raises:
        MethodCheckError: (an ``AssertionError``) names the first check that fails.
        InvalidParameterError: ``cls`` is not a Method subclass.
        MethodNotApplicableError: ``cls`` runs on a view other than the differentiable
            or the interpretable one.
    """
    if not (isinstance(cls, type) and issubclass(cls, Method)):
        raise InvalidParameterError(
            f"check_method expects a subclass of xplain.extend.Method. Got {cls!r}."
        )
    if not (issubclass(cls, GradientMethod) or runs_on(cls.view, InterpretableView)):
        raise MethodNotApplicableError(
            f"check_method checks methods on the differentiable and the interpretable views; "
            f"{cls.__name__} runs on {view_name(cls.view)}."
        )
    params = dict(params or {})
    if "seed" in cls.parameters and "seed" not in params:
        params["seed"] = 0
    report: dict[str, str] = {}
    for check in (_declaration, _unknown_parameter, _bad_value, _repr):
        report[check.__name__.strip("_").replace("_", " ")] = check(cls, params)
    report.update(_runs(cls, params))
    return report


def _fail(cls: type, check: str, detail: str) -> MethodCheckError:
    return MethodCheckError(f"{cls.__name__} fails the {check!r} check of check_method: {detail}")


# -- declarations and construction ---------------------------------------------------------
def _declaration(cls: type[Method], params: dict[str, Any]) -> str:
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise _fail(cls, "declaration", f"'name' must be an identifier string. Got {name!r}.")
    family = {GradientMethod: "gradient", PerturbationMethod: "perturbation"}
    base = next((b for b in family if issubclass(cls, b)), None)
    if base is None or cls.family != family[base]:
        raise _fail(
            cls,
            "declaration",
            f"subclass GradientMethod (family 'gradient') or PerturbationMethod (family "
            f"'perturbation'). Got family {getattr(cls, 'family', None)!r}.",
        )
    parameters = cls.parameters
    if not isinstance(parameters, Mapping) or not all(
        isinstance(k, str) and isinstance(p, Param) for k, p in parameters.items()
    ):
        raise _fail(cls, "declaration", "'parameters' must map names to xplain.extend.Param.")
    if not (cls.__doc__ or "").strip() or not isinstance(cls.reference, str):
        raise _fail(
            cls, "declaration", "give the class a docstring and 'reference' (the paper) a str."
        )
    if cls.known_truth not in PROMISES:
        raise _fail(
            cls,
            "declaration",
            f"'known_truth' must be one of {PROMISES}. Got {cls.known_truth!r}.",
        )
    try:
        cls(**params)
    except XplainError as err:
        raise _fail(cls, "declaration", f"construction with {params} raised {err!r}.") from err
    return "passed"


def _unknown_parameter(cls: type[Method], params: dict[str, Any]) -> str:
    try:
        cls(**params, **{UNKNOWN_NAME: 1})
    except InvalidParameterError as err:
        if UNKNOWN_NAME not in str(err):
            raise _fail(cls, "unknown parameter", f"the message must name it: {err}") from err
        return "passed"
    raise _fail(cls, "unknown parameter", f"{UNKNOWN_NAME}=1 was accepted; validate parameters")


def _invalid_value(param: Param) -> Any:
    """A value ``param`` rejects: below a numeric lower bound, or a string that is no option."""
    candidates: list[Any] = ["not-an-option"]
    for c in param.constraints:
        if isinstance(c, Interval) and c.low is not None:
            candidates += [c.kind(c.low) - 1, c.kind(c.low)]
    return next((v for v in reversed(candidates) if not param.accepts(v)), None)


def _bad_value(cls: type[Method], params: dict[str, Any]) -> str:
    bad = {k: _invalid_value(p) for k, p in cls.parameters.items()}
    bad = {k: v for k, v in bad.items() if v is not None}
    if not bad:
        return "skipped: no declared parameter has a value to reject"
    for name, value in bad.items():
        try:
            cls(**{**params, name: value})
        except InvalidParameterError as err:
            if repr(name) not in str(err) or repr(value) not in str(err):
                raise _fail(
                    cls, "bad value", f"the message must name {name!r} and {value!r}: {err}"
                ) from err
            continue
        raise _fail(cls, "bad value", f"{name}={value!r} was accepted; declare its constraint")
    return "passed"


def _other_value(param: Param) -> Any:
    """A value ``param`` accepts that is not its default (None when none is found)."""
    candidates: list[Any] = [True, False]
    for c in param.constraints:
        if isinstance(c, Options):
            candidates += list(c.values)
        if isinstance(c, Interval):
            low = c.low if c.low is not None else 0
            candidates += [c.kind(low) + 1, c.kind(low) + c.kind(2)]
    return next((v for v in candidates if param.accepts(v) and v != param.default), None)


def _repr(cls: type[Method], params: dict[str, Any]) -> str:
    expected = f"{cls.__name__}()"
    if repr(cls()) != expected:
        raise _fail(
            cls, "repr", f"repr of the defaults must be {expected}, got {cls()!r}: show only "
            "the parameters the user set"
        )  # fmt: skip
    for name, param in cls.parameters.items():
        value = _other_value(param)
        if value is None:
            continue
        expected = f"{cls.__name__}({name}={value!r})"
        if repr(cls(**{name: value})) != expected:
            raise _fail(cls, "repr", f"expected {expected}, got {cls(**{name: value})!r}")
        return "passed"
    return "passed"


# -- the runs on the known-truth models ---------------------------------------------------
def _runs(cls: type[Method], params: dict[str, Any]) -> dict[str, str]:
    case = _linear_case() if issubclass(cls, GradientMethod) else _additive_case()
    reason = cls.unavailable(getattr(case.view, "module", None))
    if reason is not None:
        raise _fail(cls, "known truth", f"it refuses the known-truth model ({case.describe}): "
                    f"{reason}")  # fmt: skip
    before = _state(case.view)
    first = _attribute(cls, params, case)
    report = {"shape": "passed", "finite": "passed"}
    for key, value in _state(case.view).items():
        if not _same(before[key], value):
            raise _fail(cls, "not mutated", f"the view's {key} changed during attribute")
    report["not mutated"] = "passed"
    if not np.array_equal(first, _attribute(cls, params, case)):
        raise _fail(cls, "determinism", "two runs with the same parameters (and seed) differ")
    report["determinism"] = "passed"
    if isinstance(case.view, DifferentiableView):
        report["batched points"] = _points(cls, params, case)
    report["known truth"] = _truth(cls, first, case)
    return report


def _attribute(cls: type[Method], params: dict[str, Any], case: _Case) -> np.ndarray:
    result = cls(**params).attribute(case.view, TARGET)
    values = result.values
    values = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values
    values = np.asarray(values, dtype=np.float64)
    if values.shape != case.attributions.shape:
        raise _fail(cls, "shape", f"values of shape {values.shape}; the view's is "
                    f"{case.attributions.shape}")  # fmt: skip
    if not np.all(np.isfinite(values)):
        raise _fail(cls, "finite", f"non-finite values on {case.describe}")
    if not isinstance(result.diagnostics, dict):
        raise _fail(cls, "shape", "Attribution.diagnostics must be a dict")
    return values


def _points(cls: type[Method], params: dict[str, Any], case: _Case) -> str:
    """``attribute_points`` on N points gives ``[N, *S]`` (what a noise wrapper relies on)."""
    view = case.view
    assert isinstance(view, DifferentiableView)  # gradient methods only
    points = torch.cat([view.inputs, view.inputs * 0.5])
    values, _ = cls(**params).attribute_points(view, points, TARGET)
    if tuple(values.shape) != tuple(points.shape):
        raise _fail(cls, "batched points", f"attribute_points of {list(points.shape)} points "
                    f"returned {list(values.shape)}")  # fmt: skip
    return "passed"


def _truth(cls: type[Method], values: np.ndarray, case: _Case) -> str:
    truth, promise = case.attributions, cls.known_truth
    scale = float(np.abs(truth).max())
    if promise == "exact":
        if not np.allclose(values, truth, rtol=1e-5, atol=1e-8 * scale):
            worst = float(np.abs(values - truth).max())
            raise _fail(cls, "known truth", f"known_truth='exact' but on {case.describe} the "
                        f"values differ from the truth by up to {worst:.3g}")  # fmt: skip
        return "passed: exact"
    if promise == "gradient":
        assert case.gradient is not None
        if not np.allclose(np.abs(values), np.abs(case.gradient), rtol=1e-5, atol=1e-8):
            raise _fail(cls, "known truth", f"known_truth='gradient' but on {case.describe} the "
                        "values are not the gradient (or its magnitude)")  # fmt: skip
        return "passed: gradient"
    if promise == "ranking":
        return _ranking(cls, values, case)
    if np.ptp(values) == 0:
        raise _fail(cls, "known truth", f"constant values on {case.describe}, whose true "
                    "attributions vary")  # fmt: skip
    return "skipped: the method declares no known_truth (values vary)"


def _ranking(cls: type[Method], values: np.ndarray, case: _Case) -> str:
    """Values ranked like the true attributions per feature (gradient methods: or their
    magnitudes like the gradient's, for maps of gradient magnitude)."""
    view = case.view
    found = _spearman(view.to_features(values), view.to_features(case.attributions))
    if case.gradient is not None:
        magnitude = _spearman(np.abs(values), np.abs(case.gradient))
        found = max((r for r in (found, magnitude) if not np.isnan(r)), default=float("nan"))
    if not found >= MIN_RANK_CORRELATION:
        raise _fail(cls, "known truth", f"the values' rank correlation with the truth on "
                    f"{case.describe} is {found:.2f} < {MIN_RANK_CORRELATION}")  # fmt: skip
    if isinstance(view, InterpretableView):
        agree = float(np.mean(np.sign(values) == np.sign(case.attributions)))
        if agree < MIN_SIGN_AGREEMENT:
            raise _fail(cls, "known truth", f"signs agree with the truth on {agree:.0%} of "
                        f"the features of {case.describe}")  # fmt: skip
    return f"passed: rank correlation {found:.2f}"


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # constant values rank nothing
    return float(spearmanr(a.ravel(), b.ravel()).statistic)


# -- the known-truth models ------------------------------------------------------------------
def _linear_case(channels: int = 3, side: int = 6, maps: int = 4) -> _Case:
    """``Conv2d(1x1) -> ReLU -> global average pool -> Linear`` on ``[1, 3, 6, 6]`` inputs in
    [0, 1]: the conv bias keeps the ReLU active for any input within 3 of the box, so
    ``f(x) = w . x + b`` there, with the target's head weights positive (guided
    backpropagation is then the gradient)."""
    gen = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(channels, maps, 1)
    head = nn.Linear(maps, 2)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(maps, channels, 1, 1, generator=gen))
        conv.bias.fill_(30.0)
        head.weight.copy_(torch.randn(2, maps, generator=gen))
        head.weight[TARGET] = torch.rand(maps, generator=gen) + 0.5
        head.bias.copy_(torch.tensor([0.3, -0.1]))
    module = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    module = module.double().eval().requires_grad_(False)
    inputs = torch.rand(1, channels, side, side, generator=gen, dtype=torch.float64)
    baseline = torch.zeros_like(inputs)
    point = inputs.clone().requires_grad_(True)
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(module(point)[0, TARGET], point)
    gradient = gradient[0].numpy()  # [C, H, W], the same at every point of the domain
    with torch.no_grad():
        scores = module(inputs)[0]
    view = SpatialDifferentiableView(  # an image: spatial methods (Grad-CAM) run on it too
        inputs=inputs,
        baseline=baseline,
        forward=module,
        aggregate=_pixel_sums,
        scores=scores,
        background=torch.zeros(2, channels, side, side, dtype=torch.float64),
        module=module,
    )
    truth = (inputs - baseline)[0].numpy() * gradient
    return _Case(view, truth, gradient, "a linear Conv2d-ReLU-pool-Linear network")


def _pixel_sums(values: torch.Tensor | np.ndarray) -> np.ndarray:
    """Attributions ``[C, H, W]`` -> one value per pixel ``[H * W]`` (sum over channels)."""
    return np.asarray(torch.as_tensor(values).sum(0).reshape(-1), dtype=np.float64)


def _additive_case(n_features: int = 12) -> _Case:
    """The game ``v(S) = v0 + sum_{i in S} phi_i`` (output 1 is its negation)."""
    rng = np.random.default_rng(0)
    magnitudes = np.linspace(0.2, 2.0, n_features)
    phi = rng.permutation(magnitudes) * rng.choice([-1.0, 1.0], n_features)  # [d]
    v0 = 0.5

    def evaluate(masks: np.ndarray) -> np.ndarray:
        v = v0 + np.asarray(masks, dtype=np.float64) @ phi  # [n]
        return np.stack([v, -v], axis=1)  # [n, 2]

    full, empty = v0 + phi.sum(), v0
    view = InterpretableView(
        n_features=n_features,
        evaluate=evaluate,
        active=np.arange(n_features),
        scores=np.array([full, -full]),
        base_scores=np.array([empty, -empty]),
        n_total=n_features,
    )
    return _Case(view, phi, None, f"an additive game of {n_features} players")


def _state(view: Any) -> dict[str, Any]:
    """Copies of everything a method must leave alone: the view's arrays and its module."""
    names = ("inputs", "baseline", "background", "active", "scores", "base_scores")
    out = {n: copy.deepcopy(getattr(view, n)) for n in names if getattr(view, n, None) is not None}
    module = getattr(view, "module", None)
    if module is not None:
        out["module parameters"] = {k: v.clone() for k, v in module.state_dict().items()}
        out["module hooks"] = sum(
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in module.modules()
        )
        out["module training flag"] = module.training
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return bool(a == b)
