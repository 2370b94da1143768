"""What every call of the public API may end in: a finite result or a clear XplainError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from xplain import Explanation, XplainError


def outcome(call: Callable[[], Any]) -> Any:
    """The call's result, or the XplainError it raised; any other exception fails the test."""
    try:
        return call()
    except XplainError as err:
        assert str(err).strip(), "an XplainError must say what was wrong"
        return err


def assert_trustworthy(result: Any) -> None:
    """A returned Explanation is finite and consistent; an error is an XplainError."""
    if isinstance(result, XplainError):
        return
    assert isinstance(result, Explanation)
    assert len(result.values) == len(result.features)
    assert np.isfinite(result.values).all(), result.values
    assert np.isfinite(result.prediction).all(), result.prediction
    assert 0 <= result.target < len(result.prediction)
    for key, value in result.diagnostics.items():
        if isinstance(value, float):
            assert not np.isnan(value), f"diagnostic {key} is NaN"
