"""One explanation as sorted bars: :func:`bar` (values) and :func:`waterfall` (from the
base value to f(x)), the largest |value| on top and the rest summed in one row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._ranking import others_label, top_and_rest
from xplain._scores import explained_score, output_words
from xplain.plot._common import (
    SIGNED_LABEL,
    UNSIGNED_LABEL,
    axes,
    bar_colours,
    display_limit,
    explanation,
    feature_label,
    fmt,
    is_signed,
    literal,
    std_err,
    target_name,
    title,
)

if TYPE_CHECKING:
    from xplain.explanation import Explanation

BASE_COLOUR = "#555555"  # the base value and f(x) lines
ROW_INCHES = 0.4


def bar(e: Explanation, ax: Any = None, max_display: int = 10) -> Any:
    """Horizontal bars of one explanation's values, sorted by |value|, largest on top.

    Shows ``max_display`` rows at most: the ``max_display - 1`` largest |values| and a
    last "N other features" bar whose value is the sum of the rest (all features when
    they fit). Each label reads ``feature = value`` where the display shows the
    instance's value of the feature. When the method reports standard errors
    (``diagnostics["std_err"]``, e.g. KernelSHAP) each feature's bar has an error bar of
    +- one standard error; a method that did not converge (``converged=False``) says so
    in the title. Unsigned methods (``e.signed`` False, e.g. saliency) are drawn in one
    colour from 0; signed ones red (raises the score) and blue (lowers it).

    Parameters:
        e: The explanation to draw.
        ax: The matplotlib Axes to draw on; a new figure when None.
        max_display: Most rows drawn (>= 1), the "other features" row included.

    Returns:
        The Axes drawn on.
    """
    e = explanation(e, "plot.bar")
    limit = display_limit(max_display, "plot.bar")
    labels, heights, shown = _rows(e, limit)
    ax = axes(ax, "plot.bar", (7.0, 1.2 + ROW_INCHES * len(labels)))
    _draw_rows(ax, e, heights, shown, np.zeros_like(heights))
    ax.axvline(0.0, color=BASE_COLOUR, linewidth=0.8)
    _rows_axis(ax, labels)
    ax.set_xlabel(SIGNED_LABEL if is_signed(e) else UNSIGNED_LABEL)
    ax.set_title(title(e) + _convergence(e))
    return ax


def _draw_rows(
    ax: Any, e: Explanation, heights: np.ndarray, shown: np.ndarray, starts: np.ndarray
) -> None:
    """Row ``i``'s bar from ``starts[i]`` to ``starts[i] + heights[i]`` (top to bottom),
    the "other features" row (past the ``shown`` features) paler, +- std_err error bars
    at each shown row's end, and its value printed beyond them."""
    y = np.arange(len(heights))
    bars = ax.barh(y, heights, left=starts, height=0.7,
                   color=bar_colours(heights, is_signed(e)))
    if len(shown) < len(heights):
        bars[-1].set_alpha(0.55)  # a sum of features, not one feature
    ends = starts + heights
    beyond = ends.copy()  # where each row's value is printed
    err = std_err(e)
    if err is not None:
        ax.errorbar(ends[: len(shown)], y[: len(shown)], xerr=err[shown], fmt="none",
                    ecolor="black", elinewidth=1, capsize=3)
        beyond[: len(shown)] += np.sign(heights[: len(shown)]) * err[shown]
    _value_labels(ax, beyond, heights, y)


def waterfall(e: Explanation, ax: Any = None, max_display: int = 10) -> Any:
    """How the values lead from the base value to the explained score f(x).

    Rows as in :func:`bar` (largest |value| on top, the rest in one "N other features"
    row); the bottom row starts at ``e.base_value`` and each bar starts where the one
    below it ends, so the top bar ends at the base value plus the sum of the values. A
    dashed line marks the base value and a solid one f(x), the number the HTML report
    shows (:func:`xplain._scores.explained_score`: ``base_value + delta`` where the method
    reports the score difference, else the model's prediction where it is the explained
    score); where the values do not add up to f(x) (an IG completeness gap, LIME's
    surrogate, a restricted explanation) the legend says what they sum to. Where f(x) is
    unknown (log-odds without ``delta``) the solid line is labelled "base + sum of
    values", never f(x). Error bars as in :func:`bar`. Without a base value (the method
    defines none) this is :func:`bar`.

    Parameters:
        e: The explanation to draw.
        ax: The matplotlib Axes to draw on; a new figure when None.
        max_display: Most rows drawn (>= 1), the "other features" row included.

    Returns:
        The Axes drawn on.
    """
    e = explanation(e, "plot.waterfall")
    limit = display_limit(max_display, "plot.waterfall")
    if e.base_value is None:
        return bar(e, ax, limit)
    base = float(e.base_value)
    labels, heights, shown = _rows(e, limit)
    ax = axes(ax, "plot.waterfall", (7.0, 1.6 + ROW_INCHES * len(labels)))
    # rows top to bottom; the chain runs bottom up: row i starts where row i + 1 ends
    starts = base + np.concatenate([np.cumsum(heights[::-1])[::-1][1:], [0.0]])
    _draw_rows(ax, e, heights, shown, starts)
    ax.axvline(base, color=BASE_COLOUR, linestyle="--", linewidth=1,
               label=f"base value = {base:.4g}")
    end, style = _end_line(e, base, heights)
    ax.axvline(end, **style)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize="small",
              frameon=False)
    _rows_axis(ax, labels)
    ax.set_xlabel(literal(f"{output_words(e.output)} of {target_name(e)}"))
    ax.set_title(title(e) + _convergence(e))
    return ax


def _end_line(e: Explanation, base: float, heights: np.ndarray) -> tuple[float, dict[str, Any]]:
    """Where the solid line of a waterfall goes and its style and legend label.

    At f(x), the explained score, where it is known (:func:`xplain._scores.explained_score`,
    as in the HTML report: ``base_value + delta``, else the prediction when it is the
    explained score), not where the bars end: LIME's values add
    up to its surrogate's prediction, a restricted explanation's (``es[:, names]``) leave
    out some features. The label says what the values sum to where that differs, and how
    many features were left out. Where f(x) is unknown the line marks the sum of the values.
    """
    total = base + float(np.sum(e.values))
    restricted = e.diagnostics.get("restricted")
    left_out = restricted if isinstance(restricted, dict) else {}
    notes = [f"{left_out['features_left_out']} features left out: "
             f"{float(left_out['values_left_out']):+.4g}"] if left_out else []
    output = explained_score(e)
    if output is None:
        end = total + float(left_out.get("values_left_out", 0.0))
        label = f"base + sum of values = {end:.4g}"  # never called f(x): it need not be
    else:
        end = output
        label = f"f(x) = {output:.4g}"
        gap = abs(total - output) > 1e-3 * max(abs(output), abs(base), float(np.abs(heights).sum()))
        if gap:
            notes.insert(0, f"values shown sum to {total:.4g}" if left_out
                         else f"values sum to {total:.4g}")
    label += f" ({'; '.join(notes)})" if notes else ""
    return end, {"color": BASE_COLOUR, "linestyle": "-", "linewidth": 1, "label": label}


def _rows(e: Explanation, limit: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Labels and values of the rows, top to bottom, and the features shown one by one."""
    values = np.asarray(e.values, dtype=np.float64)
    shown, rest = top_and_rest(np.abs(values), limit)
    labels = [feature_label(e, int(i)) for i in shown]
    heights = list(values[shown])
    if rest.size:
        labels.append(others_label(rest.size))
        heights.append(float(values[rest].sum()))
    return labels, np.asarray(heights, dtype=np.float64), shown


def _rows_axis(ax: Any, labels: list[str]) -> None:
    """One tick per row, the first row on top."""
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.margins(x=0.12)


def _value_labels(ax: Any, ends: np.ndarray, values: np.ndarray, y: np.ndarray) -> None:
    """Each row's value printed just beyond the end of its bar (and error bar)."""
    for end, value, row in zip(ends, values, y, strict=True):
        right = value >= 0
        ax.annotate(fmt(float(value)), (float(end), float(row)), xytext=(4 if right else -4, 0),
                    textcoords="offset points", ha="left" if right else "right",
                    va="center", fontsize="small")


def _convergence(e: Explanation) -> str:
    if e.diagnostics.get("converged") is False:
        return "\nnot converged: the error bars are +- one standard error"
    return ""
