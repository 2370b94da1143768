"""Declarative parameter validation with one uniform error message.

A method declares its parameters once (``Param(default, constraint)``); ``validate_params``
fills defaults, rejects unknown names and produces messages such as
"The 'n_steps' parameter of integrated_gradients must be an int >= 1. Got 0."
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from xplain.errors import InvalidParameterError


class Constraint:
    """A rule a parameter value must satisfy; ``describe`` completes "must be ..."."""

    def check(self, value: Any) -> bool:
        """Whether ``value`` satisfies the rule (never raises for a wrong type)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in words, completing "must be ...", e.g. "an int >= 1"."""
        raise NotImplementedError


@dataclass(frozen=True)
class Interval(Constraint):
    """A finite real or integral number in [low, high] (either bound may be open or absent).

    ``inf``, ``-inf`` and NaN are never accepted, also by an open-ended interval: no
    parameter of xplain means anything at infinity (an infinite noise or kernel width
    only turns the results into NaN).

    Attributes:
        kind: ``int`` (integers only; ``bool`` is refused) or ``float`` (any real number).
        low: The lower bound, or None for none.
        high: The upper bound, or None for none.
        closed: Which bounds belong to the interval: ``"both"`` (default), ``"left"``,
            ``"right"`` or ``"neither"``.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"  # "both", "left", "right" or "neither"

    def check(self, value: Any) -> bool:
        """Whether ``value`` is a finite number of ``kind`` within the bounds."""
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        left_closed = self.closed in ("both", "left")
        right_closed = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left_closed)):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not right_closed))
        )

    def describe(self) -> str:
        """E.g. "an int >= 1" or "a float in the range (0, 1]"."""
        bounded = self.low is not None and self.high is not None
        noun = "an int" if self.kind is int else "a float" if bounded else "a finite float"
        left = ">=" if self.closed in ("both", "left") else ">"
        right = "<=" if self.closed in ("both", "right") else "<"
        if self.low is not None and self.high is not None:
            return f"{noun} in the range [{self.low}, {self.high}]".replace(
                "[", "[" if left == ">=" else "("
            ).replace("]", "]" if right == "<=" else ")")
        if self.low is not None:
            return f"{noun} {left} {self.low}"
        if self.high is not None:
            return f"{noun} {right} {self.high}"
        return noun


@dataclass(frozen=True)
class Options(Constraint):
    """One of a fixed set of values (usually strings).

    Attributes:
        values: The allowed values (str, int, float or None), compared with ``==``.
    """

    values: tuple[Any, ...]

    def check(self, value: Any) -> bool:
        """Whether ``value`` is a scalar (str, int, float or None) among ``values``."""
        return isinstance(value, str | int | float | type(None)) and value in self.values

    def describe(self) -> str:
        """E.g. "one of 'mean', 'sum'"."""
        return "one of " + ", ".join(repr(v) for v in self.values)


@dataclass(frozen=True)
class InstanceOf(Constraint):
    """An instance of the given type(s); ``bool`` never counts as a number.

    Attributes:
        types: The accepted types, as for ``isinstance``.
        name: The types in words for the message, e.g. "a bool".
    """

    types: tuple[type, ...]
    name: str

    def check(self, value: Any) -> bool:
        """Whether ``value`` is an instance of ``types`` (a bool only if ``bool`` is one)."""
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def describe(self) -> str:
        """``name``."""
        return self.name


@dataclass(frozen=True)
class Satisfies(Constraint):
    """Any predicate, with its description.

    Attributes:
        predicate: Called with the value; true when it is allowed.
        name: The rule in words for the message, e.g. "None or an int >= 0".
    """

    predicate: Callable[[Any], bool]
    name: str

    def check(self, value: Any) -> bool:
        """Whether ``predicate(value)`` is true; a predicate that raises counts as false."""
        try:
            return bool(self.predicate(value))
        except Exception:
            return False

    def describe(self) -> str:
        """``name``."""
        return self.name


BOOLEAN = InstanceOf((bool,), "a bool")


def _seed_part(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0


SEED = Satisfies(lambda v: v is None or _seed_part(v), "None or an int >= 0")
# a method's seed: also a list of ints, numpy's entropy (default_rng([seed, row_id]), as
# explain_dataset seeds each row)
SEED_SEQUENCE = Satisfies(
    lambda v: v is None or _seed_part(v) or (
        isinstance(v, list | tuple) and len(v) > 0 and all(_seed_part(x) for x in v)
    ),
    "None, an int >= 0, or a list of ints >= 0 (e.g. [seed, row_id])",
)


@dataclass(frozen=True)
class Param:
    """One declared parameter: its default, the constraints it may satisfy and a doc line.

    Args:
        default: The value used when the caller does not pass the parameter (not checked
            against the constraints, so it may be e.g. None where callers must pass more).
        *constraints: The value passed must satisfy at least one of them.
        doc: What the parameter means, in one line (the "meaning" column of the
            documentation's method table).
    """

    default: Any
    constraints: tuple[Constraint, ...]
    doc: str = ""

    def __init__(self, default: Any, *constraints: Constraint, doc: str = "") -> None:
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "constraints", constraints)
        object.__setattr__(self, "doc", doc)

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` satisfies at least one of the constraints."""
        return any(c.check(value) for c in self.constraints)

    def describe(self) -> str:
        """The constraints in words, joined by "or", completing "must be ..."."""
        return " or ".join(c.describe() for c in self.constraints)


def positive_int(name: str, value: Any, owner: str) -> int:
    """``value`` as an int, or an InvalidParameterError unless it is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be an int >= 1. Got {value!r}."
        )
    return int(value)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """" Did you mean 'x'?" when a close match exists, else ""."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def validate_params(
    owner: str,
    spec: Mapping[str, Param],
    given: Mapping[str, Any],
    renamed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return ``given`` completed with defaults; raise on unknown names or bad values.

    ``renamed`` maps deprecated names to the current ones: a deprecated name that ``spec``
    does not declare itself is accepted with a DeprecationWarning, and a bad value is
    reported under the name the caller typed.
    """
    typed = _current_names(owner, spec, given, renamed or {})  # current name -> name typed
    given = {current: given[name] for current, name in typed.items()}
    unknown = [k for k in given if k not in spec]
    if unknown:
        name = unknown[0]
        allowed = ", ".join(sorted(spec)) or "none"
        raise InvalidParameterError(
            f"{owner} got an unexpected parameter {name!r}.{did_you_mean(name, spec)} "
            f"Allowed parameters: {allowed}."
        )
    values = {}
    for name, param in spec.items():
        value = given.get(name, param.default)
        if name in given and not param.accepts(value):
            raise InvalidParameterError(
                f"The {typed[name]!r} parameter of {owner} must be {param.describe()}. "
                f"Got {value!r}."
            )
        values[name] = value
    return values


def _current_names(
    owner: str, spec: Mapping[str, Param], given: Mapping[str, Any], renamed: Mapping[str, str]
) -> dict[str, str]:
    """``{current name: name typed}`` for ``given``, warning once per deprecated name."""
    typed: dict[str, str] = {}
    for name in given:
        current = renamed.get(name, name)
        if name in spec or current not in spec:
            current = name  # declared under this name, or unknown (reported by the caller)
        if current in typed:
            raise InvalidParameterError(
                f"{owner} got both {typed[current]!r} and {name!r}, two names of one "
                f"parameter. Pass only {current!r}."
            )
        if current != name:
            warnings.warn(
                f"The {name!r} parameter of {owner} is deprecated; use {current!r}.",
                DeprecationWarning,
                stacklevel=4,
            )
        typed[current] = name
    return typed


NONE = InstanceOf((type(None),), "None")
