"""The bars view of one explanation (shap's waterfall, as a table): numbers in, rows out.

Features are sorted by |value|; at most ``max_display`` rows are drawn, the last summing
the others (``"N other features"``; :mod:`xplain._ranking`, as the plots). A signed
explanation's bars grow from a centred zero (left: lowers, right: raises the explained
score); a magnitude's (``Explanation.signed`` False) from the left edge. Where the method
reports standard errors (``diagnostics["std_err"]``, one per feature: KernelSHAP) each
value gets ``± se`` and an error bar. Every position is a percentage of the bar cell's
width; the template draws them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._ranking import others_label, top_and_rest
from xplain.report._charts import show_value

ROUNDING = 1e-9  # standard errors below this share of the largest |value| are float noise

if TYPE_CHECKING:
    from xplain.explanation import Explanation


def feature_bars(e: Explanation, max_display: int) -> dict[str, Any]:
    """Rows of the bars view: at most ``max_display``, the largest |values| first and the
    others summed in the last (:func:`xplain._ranking.top_and_rest`).

    Each row: ``feature``, ``shown`` (the instance's value, or None), ``value``, ``text``,
    ``se`` / ``se_text`` (None without standard errors), ``other`` (the summed row),
    ``sign`` (``"pos"``, ``"neg"`` or ``"mag"``) and the bar's and error bar's ``left`` /
    ``width`` in percent. The axis ``scale`` covers every bar and error bar.
    """
    values = np.asarray(e.values, dtype=np.float64)
    errors = std_errors(e)
    shown = e.display.shown if e.display.shown is not None else ()
    top, rest = top_and_rest(np.abs(values), max_display)
    rows = [
        _row(
            e.features[i],
            show_value(shown[i]) if i < len(shown) else None,
            float(values[i]),
            None if errors is None else errors[i],
        )
        for i in top
    ]
    if len(rest):
        # no standard error for the sum: the estimates' errors are correlated
        label = others_label(len(rest))
        rows.append({**_row(label, None, float(values[rest].sum()), None), "other": True})
    left_out = _left_out_row(e)
    if left_out is not None:
        rows.append(left_out)
    reach = [abs(r["value"]) + (r["se"] or 0.0) for r in rows]
    scale = max(reach, default=0.0)
    for row in rows:
        _place(row, scale, e.signed)
    return {"rows": rows, "scale": scale, "signed": e.signed, "n_other": len(rest),
            "has_se": errors is not None}


def _left_out_row(e: Explanation) -> dict[str, Any] | None:
    """The row of the features a restricted explanation (``es[:, names]``) left out: their
    summed value (``diagnostics["restricted"]``), so that the rows still add up from the
    base value to f(x); None for an explanation of every feature."""
    restricted = e.diagnostics.get("restricted")
    if not isinstance(restricted, Mapping):
        return None
    n, total = restricted.get("features_left_out"), restricted.get("values_left_out")
    if not (isinstance(n, int) and n > 0 and isinstance(total, int | float)
            and math.isfinite(total)):
        return None
    label = f"{n} feature{'s' if n > 1 else ''} left out"
    return {**_row(label, None, float(total), None), "other": True}


def std_errors(e: Explanation) -> list[float | None] | None:
    """``diagnostics["std_err"]`` as one finite number (or None) per feature; None when the
    method reports none, not one per feature, or only rounding noise (an exact result)."""
    raw = e.diagnostics.get("std_err")
    if raw is None:
        return None
    try:
        array = np.asarray(raw, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):  # not numbers: nothing to draw
        return None
    if array.shape != (len(e.features),):
        return None
    largest = float(np.abs(np.asarray(e.values, dtype=np.float64)).max(initial=0.0))
    if not np.any(array > ROUNDING * largest):  # an exact result, up to rounding: no error
        return None
    return [float(s) if math.isfinite(s) and s >= 0 else None for s in array]


def _row(feature: str, shown: str | None, value: float, se: float | None) -> dict[str, Any]:
    return {
        "feature": feature,
        "shown": shown,
        "value": value,
        "text": f"{value:+.4g}",
        "se": se,
        "se_text": None if se is None else f"\u00b1 {se:.2g}",
        "other": False,
    }


def _place(row: dict[str, Any], scale: float, signed: bool) -> None:
    """The bar's and error bar's left edge and width, in percent of the cell."""
    value, se = row["value"], row["se"]
    unit = 0.0 if scale <= 0 else 1.0 / scale
    if signed:  # zero in the middle: x(v) = 50 + 50 v / scale
        row["sign"] = "pos" if value >= 0 else "neg"
        row["left"] = 50 + 50 * min(value, 0.0) * unit
        row["width"] = 50 * abs(value) * unit
        low, high = (value - se, value + se) if se is not None else (0.0, 0.0)
        row["err_left"], row["err_width"] = 50 + 50 * low * unit, 50 * (high - low) * unit
    else:  # magnitudes: zero at the left edge
        row["sign"] = "mag"
        row["text"] = f"{value:.4g}"
        row["left"], row["width"] = 0.0, 100 * abs(value) * unit
        low, high = (max(value - se, 0.0), value + se) if se is not None else (0.0, 0.0)
        row["err_left"], row["err_width"] = 100 * low * unit, 100 * (high - low) * unit
