"""Which features a chart shows one by one, and which it sums in one "N other features" row.

One rule for every chart of attributions (``xplain.plot``'s bars, waterfall and comparison
panels; the HTML reports' bars): features sorted by importance, largest first (ties in
feature order); ``max_display`` is the most rows drawn, the "N other features" row
included (shap's convention). Plain numpy: no matplotlib, no jinja.
"""

from __future__ import annotations

import numpy as np


def top_and_rest(importance: np.ndarray, max_display: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the features shown one by one and of the rest, gathered in one row.

    All ``d`` features are shown when ``d <= max_display``; else the ``max_display - 1``
    most important and one row for the other ``d - max_display + 1``, so that a chart has
    at most ``max_display`` rows.

    Parameters:
        importance: ``[d]`` one number per feature, larger = shown first (NaN last).
        max_display: Most rows drawn (>= 1), the "N other features" row included.

    Returns:
        ``(shown, rest)``: index arrays, ``shown`` most important first.
    """
    importance = np.asarray(importance, dtype=np.float64)
    order = np.argsort(-importance, kind="stable")  # -NaN is NaN: sorted last
    if len(order) <= max_display:
        return order, order[:0]
    return order[: max_display - 1], order[max_display - 1 :]


def others_label(n: int) -> str:
    """The label of the row that sums ``n`` features: ``"1 other feature"``,
    ``"12 other features"``.

    Parameters:
        n: How many features the row sums.
    """
    return f"{n} other feature{'s' if n != 1 else ''}"


def shared_importance(values: np.ndarray) -> np.ndarray:
    """One order of the features for several methods: the mean over the methods of
    ``|value| / max |value|``, so that no method's units decide the order.

    A method whose values are all 0 (or not finite) counts 0 for every feature; a value
    that is not finite counts 0.

    Parameters:
        values: ``[methods, d]`` each method's values of the same ``d`` features.

    Returns:
        ``[d]`` importances in [0, 1], for :func:`top_and_rest`.
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64))  # [m, d]
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    top = magnitude.max(axis=1, initial=0.0, keepdims=True)  # [m, 1]
    relative = np.divide(magnitude, top, out=np.zeros_like(magnitude), where=top > 0)
    return relative.mean(axis=0) if len(relative) else np.zeros(magnitude.shape[1])
