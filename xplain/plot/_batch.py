"""A batch of explanations as the batch plots need it: aligned features and matrices.

Reads an ``xplain.Explanations`` through its ``features``, ``values`` and ``data``, and
builds the same from any other sequence of Explanation (rows of the same features).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._validation import did_you_mean
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.plot._common import is_explanation

if TYPE_CHECKING:
    from xplain.explanation import Explanation


@dataclass(frozen=True)
class Batch:
    """``values[r, j]``: row ``r``'s attribution of ``features[j]``; ``data[r, j]`` the
    row's shown value of that feature (None where the display shows none)."""

    features: list[str]
    values: np.ndarray  # [n, d] float64
    data: np.ndarray  # [n, d] object
    rows: list[Explanation]

    def column(self, name: Any, parameter: str, owner: str) -> int:
        """The index of feature ``name``, or an InvalidParameterError listing close names."""
        found = [j for j, f in enumerate(self.features) if isinstance(name, str) and f == name]
        if len(found) == 1:
            return found[0]
        if found:  # as es[:, name] refuses it: the first of two would be a silent guess
            raise InvalidParameterError(
                f"The {parameter!r} parameter of {owner} names feature {name!r}, which occurs "
                f"{len(found)} times (positions {found}); give the features distinct names."
            )
        hint = did_you_mean(name, self.features) if isinstance(name, str) else ""
        listed = ", ".join(map(repr, self.features[:12])) + (
            ", ..." if len(self.features) > 12 else ""
        )
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {owner} must be one of the explanations' "
            f"features ({listed}). Got {name!r}.{hint}"
        )


def aligned(es: Any, owner: str) -> Batch:
    """``es`` (an ``Explanations`` or a sequence of Explanation) as a :class:`Batch`.

    Raises InvalidInputError for an empty batch, an item that is not an Explanation, or
    rows whose features differ (e.g. texts of different tokens).
    """
    if is_explanation(es) or not hasattr(es, "__iter__"):
        raise InvalidInputError(
            f"{owner} draws a batch of explanations (Explainer.explain_batch's result or a "
            f"list of Explanation). Got {type(es).__name__}; draw one explanation with "
            "plot.bar or plot.explanation."
        )
    rows = list(es)
    if not rows or not all(is_explanation(e) for e in rows):
        kinds = sorted({type(e).__name__ for e in rows}) or ["nothing"]
        raise InvalidInputError(
            f"{owner} needs at least one xplain.Explanation and nothing else. Got "
            f"{len(rows)} item(s) of type {', '.join(kinds)}."
        )
    features = list(rows[0].features)
    for r, e in enumerate(rows):
        if list(e.features) != features:
            raise InvalidInputError(
                f"{owner} needs explanations of the same features, one column per feature; "
                f"row {r} has {e.n_features} features ({_preview(e.features)}) and row 0 "
                f"{len(features)} ({_preview(features)}). Texts of different tokens do not "
                "align: draw each with plot.text, or explain tabular rows."
            )
    if hasattr(es, "values") and hasattr(es, "data"):  # an Explanations: its own matrices
        values = np.asarray(es.values, dtype=np.float64)
        data = np.asarray(es.data, dtype=object)
    else:
        values = np.stack([np.asarray(e.values, dtype=np.float64) for e in rows])
        data = np.array([_shown(e) for e in rows], dtype=object).reshape(len(rows), -1)
    return Batch(features, values, data, rows)


def numeric(column: np.ndarray) -> np.ndarray:
    """``column`` as floats, NaN where a value is missing or not a number (e.g. a category)."""
    return np.array([_number(v) for v in column], dtype=np.float64)


def _number(value: Any) -> float:
    if isinstance(value, numbers.Real) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return math.nan


def _shown(e: Explanation) -> list[Any]:
    shown = e.display.shown
    if shown is None or len(shown) != e.n_features:
        return [None] * e.n_features
    return list(shown)


def _preview(features: list[str]) -> str:
    head = ", ".join(map(repr, features[:4]))
    return head + (", ..." if len(features) > 4 else "")
