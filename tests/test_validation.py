"""Declarative parameter validation (xplain._validation): constraints and their messages."""

from __future__ import annotations

import numpy as np
import pytest

from xplain._validation import (
    BOOLEAN,
    NONE,
    SEED,
    Interval,
    Options,
    Param,
    did_you_mean,
    validate_params,
)
from xplain.errors import InvalidParameterError, XplainError

SPEC = {
    "n_steps": Param(16, Interval(int, 1)),
    "rule": Param("a", Options(("a", "b"))),
    "batch": Param(None, Interval(int, 1), NONE),
    "flag": Param(False, BOOLEAN),
    "tolerance": Param(0.01, Interval(float, 0, None, closed="neither")),
}


@pytest.mark.parametrize("constraint, text", [
    (Interval(int, 1), "an int >= 1"),
    (Interval(float, 0, None, closed="neither"), "a finite float > 0"),
    (Interval(float, None, 1, closed="left"), "a finite float < 1"),
    (Interval(float, 0, 1), "a float in the range [0, 1]"),
    (Interval(float, 0, 1, closed="left"), "a float in the range [0, 1)"),
    (Interval(float, 0, 1, closed="right"), "a float in the range (0, 1]"),
    (Interval(float, 0, 1, closed="neither"), "a float in the range (0, 1)"),
    (Options(("x", None)), "one of 'x', None"),
])
def test_constraints_describe_themselves(constraint, text):
    assert constraint.describe() == text


@pytest.mark.parametrize("constraint, good, bad", [
    (Interval(int, 1), [1, 7, np.int64(3)], [0, -1, 1.0, 2.5, True, "3", None]),
    (Interval(float, 0, None), [0, 0.0, 2, np.float32(0.5), 1e300],
     [-1e-9, -1, False, "0.1", float("nan"), float("inf"), None]),
    (Interval(float, 0, 1, closed="neither"), [0.5, 1e-12], [0, 1, 0.0, 1.0]),
    (Interval(float, 0, 1, closed="left"), [0, 0.999], [1, -0.1]),
    (Options(("a", "b", None)), ["a", None], ["c", ["a"], 1]),
    (BOOLEAN, [True, False], [0, 1, "True", None]),
    (SEED, [None, 0, 5, np.int64(7)], [-1, True, 1.5, "0"]),
])
def test_constraints_accept_and_reject(constraint, good, bad):
    for value in good:
        assert constraint.check(value), value
    for value in bad:
        assert not constraint.check(value), value


def test_validate_params_fills_defaults_without_touching_the_input():
    given = {"n_steps": 4}
    params = validate_params("ig", SPEC, given)
    assert params == {"n_steps": 4, "rule": "a", "batch": None, "flag": False, "tolerance": 0.01}
    assert given == {"n_steps": 4}
    params["rule"] = "b"
    assert SPEC["rule"].default == "a"


@pytest.mark.parametrize("given, message", [
    ({"n_steps": 0}, "The 'n_steps' parameter of ig must be an int >= 1. Got 0."),
    ({"batch": 0}, "The 'batch' parameter of ig must be an int >= 1 or None. Got 0."),
    ({"rule": "c"}, "The 'rule' parameter of ig must be one of 'a', 'b'. Got 'c'."),
    ({"flag": 1}, "The 'flag' parameter of ig must be a bool. Got 1."),
    ({"tolerance": 0}, "The 'tolerance' parameter of ig must be a finite float > 0. Got 0."),
    ({"tolerance": float("nan")},
     "The 'tolerance' parameter of ig must be a finite float > 0. Got nan."),
    ({"n_step": 3}, "ig got an unexpected parameter 'n_step'. Did you mean 'n_steps'? "
                    "Allowed parameters: batch, flag, n_steps, rule, tolerance."),
    ({"zzz": 3}, "ig got an unexpected parameter 'zzz'. "
                 "Allowed parameters: batch, flag, n_steps, rule, tolerance."),
])
def test_messages_name_the_parameter_the_allowed_values_and_the_value(given, message):
    with pytest.raises(InvalidParameterError) as info:
        validate_params("ig", SPEC, given)
    assert str(info.value) == message
    assert isinstance(info.value, XplainError) and isinstance(info.value, ValueError)


def test_no_parameters_at_all():
    assert validate_params("m", {}, {}) == {}
    with pytest.raises(InvalidParameterError, match="Allowed parameters: none"):
        validate_params("m", {}, {"x": 1})


def test_did_you_mean():
    assert did_you_mean("integrated_gradient", ["integrated_gradients", "saliency"]) == (
        " Did you mean 'integrated_gradients'?"
    )
    assert did_you_mean("qqq", ["saliency"]) == ""


@pytest.mark.parametrize("method, params", [
    ("integrated_gradients", {"tolerance": float("nan")}),
    ("smoothgrad", {"noise_std": float("nan")}),
])
def test_nan_is_never_a_valid_number(method, params):
    from xplain.methods.build import build_method

    with pytest.raises(InvalidParameterError, match="Got nan"):
        build_method(method, params)
