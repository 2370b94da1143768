"""Resource ceilings, checked before heavy work starts.

A call that would evaluate more model rows, or hold more bytes at once, than the ceiling
is refused up front with :class:`~xplain.errors.ResourceLimitError` naming the parameter
to lower, instead of hanging or dying with a raw ``MemoryError`` minutes later.

>>> xplain.limits.current()
Limits(max_model_rows=10000000, max_memory_bytes=2147483648)
>>> with xplain.limits.override(max_model_rows=10**8):   # this thread, this block
...     ex.explain(x, method="integrated_gradients", n_steps=10**6)
>>> xplain.limits.set_default(max_model_rows=10**8)      # every thread, from now on

``max_model_rows`` bounds the model rows one explanation (or one metric call) may plan to
evaluate; ``max_memory_bytes`` bounds one array a method materialises at once (methods
that can work in chunks do so below it and are not refused for it).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from xplain.errors import InvalidParameterError, ResourceLimitError

__all__ = ["Limits", "check_memory", "check_rows", "current", "override", "set_default"]


@dataclass(frozen=True)
class Limits:
    """Ceilings on one call: model rows it plans to evaluate, bytes of one array it holds.

    Attributes:
        max_model_rows: The most model rows one explanation (or one metric call) may
            plan to evaluate (default 10,000,000).
        max_memory_bytes: The most bytes one array a method materialises at once may take
            (default 2 GiB).
    """

    max_model_rows: int = 10_000_000
    max_memory_bytes: int = 2 << 30


_default = Limits()
_override: contextvars.ContextVar[Limits | None] = contextvars.ContextVar(
    "xplain_limits", default=None
)


def current() -> Limits:
    """The ceilings in force in this thread (an ``override`` block's, else the default)."""
    return _override.get() or _default


def _validated(base: Limits, **changes: int | None) -> Limits:
    for name, value in changes.items():
        if name not in Limits.__dataclass_fields__:
            raise InvalidParameterError(
                f"Unknown limit {name!r}; the limits are max_model_rows and max_memory_bytes."
            )
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InvalidParameterError(
                f"The {name!r} limit must be an int >= 1. Got {value!r}."
            )
    return replace(base, **{k: v for k, v in changes.items() if v is not None})


def set_default(**changes: int) -> Limits:
    """Change the process-wide ceilings (``max_model_rows=``, ``max_memory_bytes=``)."""
    global _default
    _default = _validated(_default, **changes)
    return _default


@contextmanager
def override(**changes: int) -> Iterator[Limits]:
    """Within the block, in this thread only, use these ceilings."""
    token = _override.set(_validated(current(), **changes))
    try:
        yield current()
    finally:
        _override.reset(token)


def check_rows(owner: str, rows: int, fix: str) -> None:
    """Refuse a call planning ``rows`` model rows above ``max_model_rows``.

    Args:
        owner: Who plans the rows (a method or metric name), for the message.
        rows: The model rows the call would evaluate.
        fix: What to lower, for the message, e.g. "lower n_steps".

    Raises:
        ResourceLimitError: ``rows`` exceeds ``current().max_model_rows``.
    """
    limit = current().max_model_rows
    if rows > limit:
        raise ResourceLimitError(
            f"{owner} would evaluate {rows:,} model rows, above the ceiling of {limit:,} "
            f"(xplain.limits.current().max_model_rows); {fix}, or raise the ceiling with "
            "xplain.limits.override(max_model_rows=...)."
        )


def check_memory(owner: str, n_bytes: int, fix: str) -> None:
    """Refuse an array of ``n_bytes`` above ``max_memory_bytes``.

    Args:
        owner: Who would allocate the array (a method or metric name), for the message.
        n_bytes: The size of the array in bytes.
        fix: What to lower, for the message, e.g. "lower internal_batch_size".

    Raises:
        ResourceLimitError: ``n_bytes`` exceeds ``current().max_memory_bytes``.
    """
    limit = current().max_memory_bytes
    if n_bytes > limit:
        raise ResourceLimitError(
            f"{owner} would hold {n_bytes / 2**20:,.0f} MiB at once, above the ceiling of "
            f"{limit / 2**20:,.0f} MiB (xplain.limits.current().max_memory_bytes); {fix}, or "
            "raise the ceiling with xplain.limits.override(max_memory_bytes=...)."
        )
