"""The interaction values of one explanation (tree_shap's) as a heat-map table.

shap's SHAP interaction values (Lundberg et al. 2020, "From local explanations to global
understanding with explainable AI for trees", section "SHAP interaction values"): a
``[d, d]`` symmetric matrix whose diagonal holds each feature's main effect and whose
off-diagonal cell ``[i, j]`` holds half of the interaction of i and j (``[i, j] + [j, i]``
is the whole of it); each row sums to the feature's value. The table shows the features
the bars view shows (:func:`xplain._ranking.top_and_rest` on |value|, the same order);
the left-out columns of a row are summed in a last column, so each row still adds up.
Numbers in, rows out: the template draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._ranking import others_label, top_and_rest

if TYPE_CHECKING:
    from xplain.explanation import Explanation


def interaction_table(
    e: Explanation,
    max_display: int,
    colour: Callable[[float, float], str],
    text_colour: Callable[[float, float], str],
) -> dict[str, Any] | None:
    """Rows of the interaction table of ``e``, or None when ``e.interactions`` is None.

    Parameters:
        e: The explanation; its ``interactions`` ``[d, d]`` are shown.
        max_display: Most rows of the bars view (>= 1), the "N other features" row
            included: the table has its features (``max_display - 1`` when some are left
            out), in its order.
        colour: ``colour(value, scale)`` -> CSS colour on the report's diverging scale.
        text_colour: ``text_colour(value, scale)`` -> ``"dark"`` for a saturated cell.

    Returns:
        ``features`` (the shown names), ``rows`` (``feature`` and ``cells``: ``text``,
        ``title``, ``colour``, ``dark``, ``diagonal``), ``others`` (per row, the text of the
        left-out columns' sum, or None when none is left out), ``others_label``,
        ``n_left_out`` and ``scale`` (the largest finite |shown cell|, the legend's end).
    """
    if e.interactions is None:
        return None
    matrix = np.asarray(e.interactions, dtype=np.float64)  # [d, d]
    top, rest = top_and_rest(np.abs(np.asarray(e.values, dtype=np.float64)), max_display)
    shown = matrix[np.ix_(top, top)]  # [k, k], rows and columns in the bars' order
    finite = np.abs(shown[np.isfinite(shown)])
    scale = float(finite.max()) if finite.size else 0.0
    names = [str(e.features[i]) for i in top]
    rows = []
    for r, i in enumerate(top):
        cells = []
        for c, j in enumerate(top):
            value = float(shown[r, c])
            ok = bool(np.isfinite(value))
            cells.append({
                "text": f"{value:+.3g}" if ok else str(value),
                "title": f"{names[r]} \u00d7 {names[c]}: {value:+.4g}",
                "colour": colour(value, scale) if ok else "transparent",
                "dark": text_colour(value, scale) if ok else "",
                "diagonal": i == j,
            })
        rows.append({"feature": names[r], "cells": cells,
                     "others": f"{matrix[i, rest].sum():+.3g}" if len(rest) else None})
    return {
        "features": names,
        "rows": rows,
        "n_left_out": len(rest),
        "others_label": others_label(len(rest)),
        "scale": scale,
    }
