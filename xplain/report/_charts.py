"""Chart geometry for the reports: numbers in, coordinates out; the templates draw the SVG.

Everything here returns plain dicts of floats and (unescaped) strings, so that the only
place text meets markup is an autoescaping Jinja2 template.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

LABEL_WIDTH = 200.0  # SVG units left of the plot for feature names
PLOT_WIDTH = 440.0
VALUE_WIDTH = 90.0  # right of a bar chart, for the number
ROW = 22.0  # height of one feature's row
TOP = 8.0  # space above the first row
AXIS = 26.0  # space below the last row for the axis labels
LABEL_CHARS = 30  # longer feature names are shortened (the full name is the row's tooltip)
DOT_RADIUS = 2.6
_LOW = np.array([0.0, 138.0, 250.0])  # beeswarm colours of a feature's low and high values
_HIGH = np.array([255.0, 0.0, 82.0])
_MISSING = "rgb(140, 149, 159)"  # non-numeric or missing feature values


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def fmt(value: float) -> str:
    """A number as the reports print it (4 significant digits; NaN as a dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2014"
    return f"{value:.4g}"


def bar_chart(
    labels: Sequence[str], values: Sequence[float], notes: Sequence[str] | None = None
) -> dict[str, Any]:
    """Horizontal bars of non-negative ``values`` (one row per label, in the order given)."""
    values = [float(v) for v in values]
    scale = max(values, default=0.0)
    rows = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        rows.append(
            {
                "label": shorten(label),
                "full": label,
                "y": TOP + i * ROW,
                "width": 0.0 if scale <= 0 else PLOT_WIDTH * value / scale,
                "text": fmt(value),
                "note": notes[i] if notes is not None else "",
            }
        )
    return {
        "width": LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        "height": TOP + len(rows) * ROW + 6,
        "x0": LABEL_WIDTH,
        "row": ROW,
        "rows": rows,
    }


def beeswarm(
    labels: Sequence[str],
    attributions: Sequence[np.ndarray],
    feature_values: Sequence[Sequence[Any]],
    signed: bool = True,
) -> dict[str, Any]:
    """One row per label, one dot per instance at x = its attribution, coloured by its value.

    ``signed``: the axis runs -max..max around a centred zero; else (magnitudes) 0..max
    from the left.

    ``attributions[i]`` ``[n]`` are feature i's attributions over the instances and
    ``feature_values[i]`` ``[n]`` its values; numeric values are coloured from low (blue) to
    high (red) between their 5th and 95th percentiles, anything else is grey. Dots that
    would overlap are stacked up and down within the row.
    """
    scale = max((float(np.max(np.abs(a))) for a in attributions if len(a)), default=0.0)
    scale = scale if scale > 0 else 1.0
    centre, half = LABEL_WIDTH + PLOT_WIDTH / 2, PLOT_WIDTH / 2 - 2 * DOT_RADIUS
    if not signed:  # x = start + span * value / scale, zero at the left
        centre, half = LABEL_WIDTH + 2 * DOT_RADIUS, PLOT_WIDTH - 4 * DOT_RADIUS
    rows = []
    for i, (label, values, raw) in enumerate(zip(labels, attributions, feature_values,
                                                 strict=True)):
        y = TOP + i * ROW + ROW / 2
        xs = centre + half * np.asarray(values, dtype=float) / scale
        offsets = _swarm(xs)
        colours = _value_colours(raw)
        dots = [
            {
                "x": float(x),
                "y": float(y + dy),
                "colour": colours[j],
                "title": f"{label} = {show_value(raw[j])}: {float(values[j]):+.4g}",
            }
            for j, (x, dy) in enumerate(zip(xs, offsets, strict=True))
        ]
        rows.append({"label": shorten(label), "full": label, "y": y, "dots": dots})
    bottom = TOP + len(rows) * ROW
    ticks = [
        {"x": centre + half * t, "text": f"{t * scale:{'+' if signed else ''}.2g}" if t else "0"}
        for t in ((-1.0, -0.5, 0.0, 0.5, 1.0) if signed else (0.0, 0.25, 0.5, 0.75, 1.0))
    ]
    return {
        "width": LABEL_WIDTH + PLOT_WIDTH + 20,
        "height": bottom + AXIS,
        "x0": LABEL_WIDTH,
        "centre": centre,
        "top": TOP,
        "bottom": bottom,
        "row": ROW,
        "radius": DOT_RADIUS,
        "rows": rows,
        "ticks": ticks,
    }


def _swarm(xs: np.ndarray) -> np.ndarray:
    """Vertical offsets: dots closer than a diameter are stacked 0, +d, -d, +2d, ..."""
    step = 1.6 * DOT_RADIUS
    levels = max(1, int((ROW / 2 - DOT_RADIUS) // step))  # offsets that fit in half a row
    offsets = np.zeros(len(xs))
    counts: dict[int, int] = {}
    for j in np.argsort(xs, kind="stable"):
        key = int(xs[j] // (2 * DOT_RADIUS))
        k = counts.get(key, 0) % (2 * levels + 1)
        counts[key] = counts.get(key, 0) + 1
        offsets[j] = step * ((k + 1) // 2) * (1 if k % 2 else -1)
    return offsets


def _value_colours(raw: Sequence[Any]) -> list[str]:
    numeric = np.array([_number(v) for v in raw], dtype=float)
    finite = np.isfinite(numeric)
    if not finite.any():
        return [_MISSING] * len(raw)
    low, high = np.percentile(numeric[finite], [5, 95])
    if high <= low:
        low, high = float(numeric[finite].min()), float(numeric[finite].max())
    spread = high - low if high > low else 1.0
    colours = []
    for value, ok in zip(numeric, finite, strict=True):
        if not ok:
            colours.append(_MISSING)
            continue
        t = float(np.clip((value - low) / spread, 0.0, 1.0)) if high > low else 0.5
        r, g, b = np.round(_LOW + t * (_HIGH - _LOW)).astype(int)
        colours.append(f"rgb({r}, {g}, {b})")
    return colours


def _number(value: Any) -> float:
    """A real number for numeric values (bools included), NaN for anything else."""
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return math.nan


def show_value(value: Any) -> str:
    """A feature's value as a short string (floats to 4 significant digits)."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)
